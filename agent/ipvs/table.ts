/**
 * The IPVS table as this project models it: virtual services keyed kube-proxy style
 * (`tcp:172.25.7.200:80`, `fwm:1`) holding real servers keyed `172.25.7.3:80`, and the
 * ipvsadm command-line text for each entry (the `-S` rule form, which `-R` reads back).
 */

export type Forwarding = 'nat' | 'tun' | 'dr';
export type ServiceProtocol = 'tcp' | 'udp' | 'sctp' | 'fwmark';

export interface RealServer {
  /** IPv4 dotted quad, or an IPv6 address without brackets. */
  address: string;
  port: number;
  /** `-m`/`-i`/`-g`. A `Local` server (old kernels) reads back from `-S` as `-g`, so as `dr`. */
  forwarding: Forwarding;
  weight: number;
  /** Tunnel encapsulation as ipvsadm >= 1.30 prints it; absent reads as ipip, the kernel default. */
  tunType?: 'ipip' | 'gue' | 'gre';
  tunPort?: number;
  tunCsum?: 'nocsum' | 'csum' | 'remcsum';
  /** Not in `-S` output: known only when read from `-L --thresholds` or declared. */
  uThreshold?: number;
  lThreshold?: number;
}

export interface VirtualService {
  protocol: ServiceProtocol;
  /** For tcp/udp/sctp services. */
  address?: string;
  port?: number;
  /** For fwmark services. */
  fwmark?: number;
  /** IPv6 service (bracketed address, or `-f N -6`). */
  ipv6?: boolean;
  scheduler: string;
  /** Persistence timeout in seconds (`-p`); absent when not persistent. */
  persistent?: number;
  /** Persistence granularity (`-M`), only when persistent and not the /32 default. */
  netmask?: string;
  /** Persistence engine (`--pe`). */
  pe?: string;
  /** One-packet scheduling (`-o`). */
  ops?: boolean;
  /** Scheduler flags (`-b`), comma-separated as ipvsadm prints them. */
  schedFlags?: string;
  realServers: RealServer[];
}

export interface IpvsTable {
  services: VirtualService[];
}

/** `172.25.7.3:80`, `[2001:db8::3]:80`. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Canonical service key: `tcp:172.25.7.200:80`, `udp:...`, `sctp:...`, `fwm:1` (`fwm6:1` for IPv6). */
export function serviceKey(s: Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'ipv6'>): string {
  if (s.protocol === 'fwmark') return `${s.ipv6 ? 'fwm6' : 'fwm'}:${s.fwmark}`;
  return `${s.protocol}:${hostPort(s.address ?? '', s.port ?? 0)}`;
}

export function realServerKey(r: Pick<RealServer, 'address' | 'port'>): string {
  return hostPort(r.address, r.port);
}

/** The `virtual-service` argument of every ipvsadm command: `-t 172.25.7.200:80`, `-f 1`. */
export function serviceArg(s: VirtualService): string {
  switch (s.protocol) {
    case 'fwmark':
      return `-f ${s.fwmark}${s.ipv6 ? ' -6' : ''}`;
    case 'tcp':
      return `-t ${hostPort(s.address ?? '', s.port ?? 0)}`;
    case 'udp':
      return `-u ${hostPort(s.address ?? '', s.port ?? 0)}`;
    case 'sctp':
      return `--sctp-service ${hostPort(s.address ?? '', s.port ?? 0)}`;
  }
}

/** Service options in the order ipvsadm's print_service_entry (FMT_RULE) writes them. */
export function serviceOptions(s: VirtualService): string {
  let out = `-s ${s.scheduler}`;
  if (s.persistent !== undefined) {
    out += ` -p ${s.persistent}`;
    if (s.netmask !== undefined) out += ` -M ${s.netmask}`;
  }
  if (s.pe) out += ` --pe ${s.pe}`;
  if (s.ops) out += ' -o';
  if (s.schedFlags) out += ` -b ${s.schedFlags}`;
  return out;
}

const FWD_SWITCH: Record<Forwarding, string> = { nat: '-m', tun: '-i', dr: '-g' };

/**
 * Real server options: `-r addr:port -g -w 1`, as ipvsadm prints them, plus `-x`/`-y` when
 * thresholds are given (ipvsadm -S never prints them; -R accepts them). An ipip tunnel gets no
 * `--tun-type`: it is the default, and ipvsadm before 1.30 does not know the option.
 */
export function serverOptions(r: RealServer): string {
  let out = `-r ${realServerKey(r)} ${FWD_SWITCH[r.forwarding]} -w ${r.weight}`;
  if (r.forwarding === 'tun' && r.tunType && r.tunType !== 'ipip') {
    out += ` --tun-type ${r.tunType}`;
    if (r.tunPort !== undefined) out += ` --tun-port ${r.tunPort}`;
    if (r.tunCsum) out += ` --tun-${r.tunCsum}`;
  }
  if (r.uThreshold !== undefined) out += ` -x ${r.uThreshold}`;
  if (r.lThreshold !== undefined) out += ` -y ${r.lThreshold}`;
  return out;
}

/** The service and its real servers as `-A`/`-a` lines, the shape of `ipvsadm -Sn`. */
export function renderService(s: VirtualService): string[] {
  const svc = serviceArg(s);
  return [`-A ${svc} ${serviceOptions(s)}`, ...sortServers(s.realServers).map((r) => `-a ${svc} ${serverOptions(r)}`)];
}

export function renderTable(services: readonly VirtualService[]): string {
  return sortServices(services)
    .flatMap(renderService)
    .map((l) => l + '\n')
    .join('');
}

const PROTO_NUMBER: Record<ServiceProtocol, number> = { tcp: 6, udp: 17, sctp: 132, fwmark: 6 };

/** IPv4 as a number; IPv6 as a zero-padded hex string, so both compare in address order. */
function addrOrder(a: string): string {
  if (!a.includes(':')) return a.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  const [head, tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join('');
}

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * ipvsadm's listing order (libipvs ipvs_cmp_services): fwmark (0 for address services, so
 * they come first), address family, protocol number, address, port. ipvsadm subtracts
 * addresses as 32-bit ints, which misorders addresses far apart (10.x after 172.x); this
 * sorts them properly, and nothing here compares text ordered by ipvsadm with text ordered here.
 */
export function sortServices(services: readonly VirtualService[]): VirtualService[] {
  return [...services].sort(
    (a, b) =>
      cmp(a.fwmark ?? 0, b.fwmark ?? 0) ||
      cmp(a.ipv6 ? 1 : 0, b.ipv6 ? 1 : 0) ||
      cmp(PROTO_NUMBER[a.protocol], PROTO_NUMBER[b.protocol]) ||
      cmp(addrOrder(a.address ?? ''), addrOrder(b.address ?? '')) ||
      cmp(a.port ?? 0, b.port ?? 0),
  );
}

/** libipvs ipvs_cmp_dests: address, then port. */
export function sortServers(servers: readonly RealServer[]): RealServer[] {
  return [...servers].sort((a, b) => cmp(addrOrder(a.address), addrOrder(b.address)) || cmp(a.port, b.port));
}
