import { int, parseHostPort } from './parse-save.js';
import { realServerKey, serviceKey, type Forwarding, type ServiceProtocol } from './table.js';

/**
 * Parser for `ipvsadm -ln` and its variants, written against ipvsadm 1.31's print_title,
 * list_all and print_service_entry (the non-rule branches). Strict, like parseSave.
 */

/** Which `-L` variant the text is, from its title lines (print_title). */
export type ListFormat = 'plain' | 'tun-info' | 'thresholds' | 'persistent-conn' | 'stats' | 'rate';

export interface Stats {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** `--rate`: per second, as the kernel estimates them (2 s average). */
export interface Rates {
  cps: number;
  inPPS: number;
  outPPS: number;
  inBPS: number;
  outBPS: number;
}

export interface ListedServer {
  key: string;
  address: string;
  port: number;
  /** `Masq`, `Tunnel`, `Route`, `Local` (plain and --tun-info listings). */
  forwarding?: Forwarding | 'local';
  weight?: number;
  activeConn?: number;
  inActConn?: number;
  persistConn?: number;
  uThreshold?: number;
  lThreshold?: number;
  tunnelInfo?: string;
  stats?: Stats;
  rate?: Rates;
}

export interface ListedService {
  key: string;
  protocol: ServiceProtocol;
  address?: string;
  port?: number;
  fwmark?: number;
  ipv6?: boolean;
  /** Absent in --stats listings, which print counters instead. */
  scheduler?: string;
  schedFlags?: string;
  persistent?: number;
  netmask?: string;
  pe?: string;
  ops?: boolean;
  stats?: Stats;
  rate?: Rates;
  realServers: ListedServer[];
}

export interface ListTable {
  /** `1.2.1` from `IP Virtual Server version 1.2.1 (size=4096)`. */
  version?: string;
  size?: number;
  format: ListFormat;
  services: ListedService[];
}

const FWD_NAME: Record<string, Forwarding | 'local'> = { Masq: 'nat', Tunnel: 'tun', Route: 'dr', Local: 'local' };
const PROTO_NAME: Record<string, ServiceProtocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** print_largenum: plain below 100 million, then K/M/G/T (thousands, millions, ...). */
function largeNum(v: string | undefined): number {
  const m = (v ?? '').match(/^(\d+)([KMGT]?)$/);
  if (!m) throw new Error(`bad counter '${v ?? ''}'`);
  return Number(m[1]) * ({ '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 } as Record<string, number>)[m[2]];
}

function stats(t: string[]): Stats {
  if (t.length !== 5) throw new Error('expected 5 counters');
  const [conns, inPkts, outPkts, inBytes, outBytes] = t.map(largeNum);
  return { conns, inPkts, outPkts, inBytes, outBytes };
}

function rates(t: string[]): Rates {
  if (t.length !== 5) throw new Error('expected 5 rates');
  const [cps, inPPS, outPPS, inBPS, outBPS] = t.map(largeNum);
  return { cps, inPPS, outPPS, inBPS, outBPS };
}

/**
 * Parses `ipvsadm -ln` and its variants (`--thresholds`, `--persistent-conn`, `--tun-info`,
 * `--stats [--exact]`, `--rate`): the connection counters ActiveConn/InActConn per real server. Trailing
 * blanks (the `%-10u` columns pad them) are ignored.
 */
export function parseList(text: string): ListTable {
  const out: ListTable = { format: 'plain', services: [] };
  let current: ListedService | undefined;
  let titled = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trimEnd();
    if (!line.trim()) continue;
    try {
      const version = line.match(/^IP Virtual Server version (\d+\.\d+\.\d+) \(size=(\d+)\)$/);
      if (version) {
        out.version = version[1];
        out.size = Number(version[2]);
      } else if (line.startsWith('Prot LocalAddress:Port')) {
        titled = true;
        if (/Uthreshold/.test(line)) out.format = 'thresholds';
        else if (/PersistConn/.test(line)) out.format = 'persistent-conn';
        else if (/\bConns\b/.test(line)) out.format = 'stats';
        else if (/\bCPS\b/.test(line)) out.format = 'rate';
      } else if (line.startsWith('  -> RemoteAddress:Port')) {
        if (/TunnelInfo/.test(line)) out.format = 'tun-info';
      } else if (line.startsWith('  -> ')) {
        if (!current) throw new Error('real server before any service');
        current.realServers.push(listedServer(line.trim().split(/\s+/).slice(1), out.format));
      } else {
        if (!titled) throw new Error('service before the title line');
        current = listedService(line.trim().split(/\s+/), out.format);
        out.services.push(current);
      }
    } catch (e) {
      throw new Error(`ipvsadm -ln line ${i + 1}: ${(e as Error).message}: ${line.trim()}`);
    }
  }
  return out;
}

function listedService(t: string[], format: ListFormat): ListedService {
  const head = t.shift();
  let svc: ListedService;
  if (head === 'FWM') {
    svc = { key: '', protocol: 'fwmark', fwmark: int(t.shift(), 'fwmark'), realServers: [] };
    if (t[0] === 'IPv6') {
      t.shift();
      svc.ipv6 = true;
    }
  } else {
    const protocol = PROTO_NAME[head ?? ''];
    const a = parseHostPort(t.shift() ?? '');
    if (!protocol || !a) throw new Error('expected a protocol and address:port');
    svc = { key: '', protocol, address: a.address, port: a.port, ...(a.ipv6 ? { ipv6: true } : {}), realServers: [] };
  }
  svc.key = serviceKey(svc);
  if (format === 'stats') {
    svc.stats = stats(t);
    return svc;
  }
  if (format === 'rate') {
    svc.rate = rates(t);
    return svc;
  }
  svc.scheduler = t.shift();
  if (!svc.scheduler) throw new Error('no scheduler');
  while (t.length) {
    const w = t.shift()!;
    if (/^\(.*\)$/.test(w)) svc.schedFlags = w.slice(1, -1);
    else if (w === 'persistent') svc.persistent = int(t.shift(), 'timeout');
    else if (w === 'mask') svc.netmask = t.shift();
    else if (w === 'pe') svc.pe = t.shift();
    else if (w === 'ops') svc.ops = true;
    else throw new Error(`unexpected '${w}'`);
  }
  return svc;
}

function listedServer(t: string[], format: ListFormat): ListedServer {
  const a = parseHostPort(t.shift() ?? '');
  if (!a) throw new Error('expected address:port');
  const rs: ListedServer = { key: realServerKey(a), address: a.address, port: a.port };
  const n = (what: string) => int(t.shift(), what);
  const fwd = () => {
    const f = FWD_NAME[t.shift() ?? ''];
    if (!f) throw new Error('expected Masq, Tunnel, Route or Local');
    return f;
  };
  switch (format) {
    case 'plain':
      Object.assign(rs, { forwarding: fwd(), weight: n('weight'), activeConn: n('ActiveConn'), inActConn: n('InActConn') });
      break;
    case 'tun-info':
      Object.assign(rs, { forwarding: fwd(), tunnelInfo: t.shift(), weight: n('weight') });
      Object.assign(rs, { activeConn: n('ActiveConn'), inActConn: n('InActConn') });
      break;
    case 'thresholds':
      Object.assign(rs, { uThreshold: n('Uthreshold'), lThreshold: n('Lthreshold') });
      Object.assign(rs, { activeConn: n('ActiveConn'), inActConn: n('InActConn') });
      break;
    case 'persistent-conn':
      Object.assign(rs, { weight: n('weight'), persistConn: n('PersistConn') });
      Object.assign(rs, { activeConn: n('ActiveConn'), inActConn: n('InActConn') });
      break;
    case 'stats':
      rs.stats = stats(t.splice(0));
      break;
    case 'rate':
      rs.rate = rates(t.splice(0));
      break;
  }
  if (t.length) throw new Error(`unexpected '${t.join(' ')}'`);
  return rs;
}

/** One real server of a listing by canonical keys, e.g. ('tcp:172.25.7.200:80', '172.25.7.3:80'). */
export function findListed(list: ListTable, svcKey: string, rsKey: string): ListedServer | undefined {
  return list.services.find((s) => s.key === svcKey)?.realServers.find((r) => r.key === rsKey);
}
