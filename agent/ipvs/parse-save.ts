import {
  realServerKey,
  serviceKey,
  type Forwarding,
  type IpvsTable,
  type RealServer,
  type ServiceProtocol,
  type VirtualService,
} from './table.js';

/**
 * Parser for `ipvsadm -Sn`, written against the format strings of ipvsadm 1.31 (ipvsadm.c:
 * print_service_entry with FMT_RULE, print_tunnel_rule). Strict: a line it does not understand
 * is an error, never a silently smaller table.
 */

interface Addr {
  address: string;
  port: number;
  ipv6: boolean;
}

/** `172.25.7.3:80` or `[2001:db8::3]:80` (addrport_to_anyname with FMT_NUMERIC). */
export function parseHostPort(s: string): Addr | null {
  const m = s.match(/^\[([0-9A-Fa-f:.]+)\]:(\d+)$/) ?? s.match(/^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { address: m[1], port, ipv6: s.startsWith('[') };
}

const PROTO_OPT: Record<string, ServiceProtocol> = {
  '-t': 'tcp',
  '--tcp-service': 'tcp',
  '-u': 'udp',
  '--udp-service': 'udp',
  '--sctp-service': 'sctp',
};
const FWD_OPT: Record<string, Forwarding> = {
  '-m': 'nat',
  '--masquerading': 'nat',
  '-i': 'tun',
  '--ipip': 'tun',
  '-g': 'dr',
  '--gatewaying': 'dr',
};
const TUN_CSUM: Record<string, RealServer['tunCsum']> = {
  '--tun-nocsum': 'nocsum',
  '--tun-csum': 'csum',
  '--tun-remcsum': 'remcsum',
};

/** A decimal count as ipvsadm prints it (string_to_number's range check). */
export function int(v: string | undefined, what: string, max = 4294967295): number {
  if (v === undefined || !/^\d+$/.test(v) || Number(v) > max) throw new Error(`bad ${what} '${v ?? ''}'`);
  return Number(v);
}

/**
 * Parses `ipvsadm -Sn` (the rule form `-R` reads back): `-A` lines for services, `-a` lines for
 * their real servers. Real servers carry no thresholds: ipvsadm never prints them there.
 */
export function parseSave(text: string): IpvsTable {
  const services = new Map<string, VirtualService>();
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    try {
      parseRuleLine(line, services);
    } catch (e) {
      throw new Error(`ipvsadm -Sn line ${i + 1}: ${(e as Error).message}: ${line}`);
    }
  }
  return { services: [...services.values()] };
}

function parseRuleLine(line: string, services: Map<string, VirtualService>): void {
  const tok = line.split(/\s+/);
  if (tok[0] === 'ipvsadm') tok.shift(); // config_stream_read drops it too
  const cmd = tok.shift();
  const isService = cmd === '-A' || cmd === '--add-service';
  if (!isService && cmd !== '-a' && cmd !== '--add-server') throw new Error(`expected -A or -a, got '${cmd}'`);

  const svc: Partial<VirtualService> & { realServers: RealServer[] } = { realServers: [] };
  const rs: Partial<RealServer> = {};
  while (tok.length) {
    const opt = tok.shift()!;
    const arg = () => {
      const v = tok.shift();
      if (v === undefined) throw new Error(`${opt} needs a value`);
      return v;
    };
    if (opt in PROTO_OPT) {
      const a = parseHostPort(arg());
      if (!a) throw new Error(`bad ${opt} address`);
      Object.assign(svc, { protocol: PROTO_OPT[opt], address: a.address, port: a.port, ipv6: a.ipv6 });
    } else if (opt === '-f' || opt === '--fwmark-service') {
      Object.assign(svc, { protocol: 'fwmark', fwmark: int(arg(), 'fwmark') });
    } else if (opt === '-6' || opt === '--ipv6') svc.ipv6 = true;
    else if (opt === '-s' || opt === '--scheduler') svc.scheduler = arg();
    else if (opt === '-p' || opt === '--persistent') svc.persistent = int(arg(), 'persistence timeout');
    else if (opt === '-M' || opt === '--netmask') svc.netmask = arg();
    else if (opt === '--pe') svc.pe = arg();
    else if (opt === '-o' || opt === '--ops') svc.ops = true;
    else if (opt === '-b' || opt === '--sched-flags') svc.schedFlags = arg();
    else if (opt === '-r' || opt === '--real-server') {
      const a = parseHostPort(arg());
      if (!a) throw new Error(`bad ${opt} address`);
      Object.assign(rs, { address: a.address, port: a.port });
    } else if (opt in FWD_OPT) rs.forwarding = FWD_OPT[opt];
    else if (opt === '-w' || opt === '--weight') rs.weight = int(arg(), 'weight', 65535);
    else if (opt === '-x' || opt === '--u-threshold') rs.uThreshold = int(arg(), 'u-threshold');
    else if (opt === '-y' || opt === '--l-threshold') rs.lThreshold = int(arg(), 'l-threshold');
    else if (opt === '--tun-type') {
      const t = arg();
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') throw new Error(`bad --tun-type '${t}'`);
      rs.tunType = t;
    } else if (opt === '--tun-port') rs.tunPort = int(arg(), 'tun-port', 65535);
    else if (opt in TUN_CSUM) rs.tunCsum = TUN_CSUM[opt];
    else throw new Error(`unknown option '${opt}'`);
  }
  if (!svc.protocol) throw new Error('no virtual service');
  const key = serviceKey(svc as VirtualService);

  if (isService) {
    if (rs.address !== undefined) throw new Error('-r on a service line');
    if (services.has(key)) throw new Error(`service ${key} listed twice`);
    // ipvsadm uses wlc when -s is left out (DEF_SCHED)
    services.set(key, { ...svc, scheduler: svc.scheduler ?? 'wlc' } as VirtualService);
    return;
  }
  const owner = services.get(key);
  if (!owner) throw new Error(`real server of ${key} before its -A line`);
  if (rs.address === undefined) throw new Error('-a without -r');
  const server: RealServer = {
    address: rs.address,
    port: rs.port!,
    forwarding: rs.forwarding ?? 'dr', // ipvsadm's default forwarding method is gatewaying
    weight: rs.weight ?? 1,
    ...(rs.tunType ? { tunType: rs.tunType } : {}),
    ...(rs.tunPort !== undefined ? { tunPort: rs.tunPort } : {}),
    ...(rs.tunCsum ? { tunCsum: rs.tunCsum } : {}),
    ...(rs.uThreshold !== undefined ? { uThreshold: rs.uThreshold } : {}),
    ...(rs.lThreshold !== undefined ? { lThreshold: rs.lThreshold } : {}),
  };
  if (owner.realServers.some((r) => realServerKey(r) === realServerKey(server))) {
    throw new Error(`real server ${realServerKey(server)} listed twice in ${key}`);
  }
  owner.realServers.push(server);
}
