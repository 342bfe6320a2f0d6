import type { AnyModule } from '../module.js';
import address from './address.js';
import file from './file.js';
import firewall from './firewall.js';
import gateway from './gateway.js';
import ipvs from './ipvs.js';
import kernelModule from './kernel_module.js';
import keyvalue from './keyvalue.js';
import pkg from './package.js';
import route from './route.js';
import service from './service.js';
import sysctl from './sysctl.js';
import tunnel from './tunnel.js';
import yumRepo from './yum_repo.js';

/** The modules an agent runs; a task naming anything else fails validation. */
export const MODULES: ReadonlyMap<string, AnyModule> = new Map(
  [address, file, firewall, gateway, ipvs, kernelModule, keyvalue, pkg, route, service, sysctl, tunnel, yumRepo].map((m): [string, AnyModule] => [m.name, m]),
);
