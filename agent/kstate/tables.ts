import type { Exec } from '../../common/exec.js';
import type { ListTable } from '../ipvs/parse-list.js';
import { IP_ADDR, type Address, type IpAddrTables, type Link, type Tunnel } from './ip-addr.js';
import { IP_ROUTE, type Route } from './ip-route.js';
import { readIp, type IpForms } from './iproute.js';
import { readIptables, type IptablesDump } from './iptables.js';
import { readIpvs, readIpvsThresholds, type IpvsSnapshot } from './ipvs.js';
import { PROC_MODULES, parseProcModules } from './proc-modules.js';

/**
 * The registry of kernel and host tables: what each table holds, and which read gives it. A
 * read is one process spawn or one /proc read (the text form of old iproute2 is a documented
 * pair); several tables may come from one read, and then they are dropped together.
 */

/** How the reads reach the host: the exec helper and a file reader (null when absent). */
export interface KernelIo {
  exec: Exec;
  readFile(path: string): Promise<string | null>;
}

/** What each read returns. */
export interface SourceValues {
  'ip-addr': IpAddrTables;
  'ip-route': Route[];
  'ipvsadm-save': IpvsSnapshot;
  'ipvsadm-thresholds': ListTable;
  'proc-modules': Set<string>;
  'iptables-save': IptablesDump | null;
}
export type Source = keyof SourceValues;

export const SOURCES: { [S in Source]: (io: KernelIo, forms: IpForms) => Promise<SourceValues[S]> } = {
  'ip-addr': (io, forms) => readIp(io.exec, forms, IP_ADDR),
  'ip-route': (io, forms) => readIp(io.exec, forms, IP_ROUTE),
  'ipvsadm-save': (io) => readIpvs(io.exec),
  'ipvsadm-thresholds': (io) => readIpvsThresholds(io.exec),
  'proc-modules': async (io) => parseProcModules(await io.readFile(PROC_MODULES)),
  'iptables-save': (io) => readIptables(io.exec),
};

/** What each table holds. Shared by every task of a run: never to be changed by a reader. */
export interface TableValues {
  /** Network devices: name, flags, link type, kind (`ip -d -j addr show`). */
  links: readonly Link[];
  /** Addresses with their device (the same read as links). */
  addresses: readonly Address[];
  /** IP tunnel devices and their endpoints (the same read as links). */
  tunnels: readonly Tunnel[];
  /** IPv4 unicast routes of every routing table. */
  routes: readonly Route[];
  /** IPVS virtual services and real servers (`ipvsadm -Sn`). */
  ipvs: IpvsSnapshot;
  /** IPVS real server thresholds (`ipvsadm -L -n --thresholds`). */
  'ipvs-thresholds': ListTable;
  /** Loaded kernel modules (/proc/modules). */
  modules: ReadonlySet<string>;
  /** Netfilter tables, chains and rules (`iptables-save`); null when not installed. */
  iptables: IptablesDump | null;
}
export type Table = keyof TableValues;

interface TableSpec<S extends Source, V> {
  source: S;
  view(v: SourceValues[S]): V;
}
const spec = <S extends Source, V>(source: S, view: (v: SourceValues[S]) => V): TableSpec<S, V> => ({ source, view });

export const TABLES = {
  links: spec('ip-addr', (v) => v.links),
  addresses: spec('ip-addr', (v) => v.addresses),
  tunnels: spec('ip-addr', (v) => v.tunnels),
  routes: spec('ip-route', (v) => v),
  ipvs: spec('ipvsadm-save', (v) => v),
  'ipvs-thresholds': spec('ipvsadm-thresholds', (v) => v),
  modules: spec('proc-modules', (v) => v),
  iptables: spec('iptables-save', (v) => v),
} satisfies { [T in Table]: TableSpec<Source, TableValues[T]> };

/** Every table, for modules whose apply may change any of them. */
export const ALL_TABLES = Object.keys(TABLES) as readonly Table[];
