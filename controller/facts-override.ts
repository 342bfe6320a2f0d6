import { CtlError } from '../common/errors.js';
import type { FactsOverride, InitSystem, PackageManager } from '../common/protocol.js';
import type { Vars } from './template.js';

/** Inventory names as Ansible spells them, mapped to the facts the agent's modules read. */
const PKG: Record<string, Exclude<PackageManager, 'none'>> = { dnf: 'dnf', yum: 'yum', apt: 'apt' };
const INIT: Record<string, Exclude<InitSystem, 'none'>> = { systemd: 'systemd', sysv: 'sysv', sysvinit: 'sysv' };

function pick<T>(host: string, vars: Vars, field: string, table: Record<string, T>): T | undefined {
  const v = vars[field];
  if (v === undefined || v === null || v === '') return undefined;
  const hit = typeof v === 'string' ? table[v] : undefined;
  if (hit === undefined) {
    throw new CtlError('CTL_ERR_INVENTORY_PARSE', `host ${host}: ${JSON.stringify(v)} is not one of ${Object.keys(table).join(', ')}`, { field });
  }
  return hit;
}

/**
 * `ansible_pkg_mgr` / `ansible_service_mgr` set for a host (inventory, play vars or -e): what the
 * agent's detection cannot know or gets wrong wins, for every module of every job sent there.
 */
export function factsOverride(host: string, vars: Vars): FactsOverride | undefined {
  const pkgManager = pick(host, vars, 'ansible_pkg_mgr', PKG);
  const initSystem = pick(host, vars, 'ansible_service_mgr', INIT);
  if (!pkgManager && !initSystem) return undefined;
  return { ...(pkgManager ? { pkgManager } : {}), ...(initSystem ? { initSystem } : {}) };
}
