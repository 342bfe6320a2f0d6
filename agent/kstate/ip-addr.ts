import { execOk } from '../../common/exec.js';
import { parseIpJson, type IpSource } from './iproute.js';
import { parseAddrText, parseLinkText } from './iproute-text.js';

/**
 * Links, addresses and tunnels: three tables of one read, `ip -d -j addr show` (or, without
 * JSON, the pair `ip -d -o link show` + `ip -o addr show`). The read is cut down to the fields
 * the modules use, so that both forms give the very same objects.
 */

/** One address of a link as iproute2's JSON names its fields. */
export interface IpAddr {
  family: string;
  local: string;
  prefixlen: number;
  label?: string;
  broadcast?: string;
  secondary?: boolean;
}
/** A tunnel's endpoints as iproute2 prints them (`any` when unset). */
export interface Endpoints {
  local?: string;
  remote?: string;
}
/** One link of the read, with its details and addresses. */
export interface IpLink {
  ifname: string;
  flags: string[];
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: Endpoints };
  addr_info: IpAddr[];
}

/** The `links` table: every network device. */
export interface Link {
  ifname: string;
  flags: readonly string[];
  /** `ether`, `loopback`, `ipip` (the `link/TYPE` word). */
  link_type?: string;
  /** The driver kind of `-d` (`veth`, `ipip`), when the kernel reports one. */
  kind?: string;
}
/** The `addresses` table: one entry per address, with the device it is on. */
export interface Address extends IpAddr {
  dev: string;
}
/** The `tunnels` table: the IP tunnel devices and their endpoints (absent when `any`). */
export interface Tunnel {
  ifname: string;
  kind: string;
  local?: string;
  remote?: string;
}
export interface IpAddrTables {
  links: readonly Link[];
  addresses: readonly Address[];
  tunnels: readonly Tunnel[];
}

/** Kinds (or, where the kernel reports no kind, link types) that are IP tunnels. */
const TUNNEL_KINDS = new Set(['ipip', 'gre', 'gretap', 'sit', 'ip6tnl', 'ip6gre', 'vti', 'vti6']);

/** The command of the JSON form, as it appears in messages. */
export const IP_ADDR_COMMAND = 'ip -d -j addr show';

interface JsonLink {
  ifname: string;
  flags?: string[];
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: (IpAddr & Record<string, unknown>)[];
}

function endpoints(data: Record<string, unknown> | undefined): Endpoints | undefined {
  const local = typeof data?.local === 'string' ? data.local : undefined;
  const remote = typeof data?.remote === 'string' ? data.remote : undefined;
  return local || remote ? { ...(local ? { local } : {}), ...(remote ? { remote } : {}) } : undefined;
}

function toLink(ifname: string, flags: string[], linkType: string | undefined, kind: string | undefined, ends: Endpoints | undefined, addrs: IpAddr[]): IpLink {
  const linkinfo = kind !== undefined || ends ? { ...(kind !== undefined ? { info_kind: kind } : {}), ...(ends ? { info_data: ends } : {}) } : undefined;
  return { ifname, flags, ...(linkType !== undefined ? { link_type: linkType } : {}), ...(linkinfo ? { linkinfo } : {}), addr_info: addrs };
}

function toAddr(a: IpAddr): IpAddr {
  return {
    family: a.family,
    local: a.local,
    prefixlen: a.prefixlen,
    ...(a.label !== undefined ? { label: a.label } : {}),
    ...(a.broadcast !== undefined ? { broadcast: a.broadcast } : {}),
    ...(a.secondary === true ? { secondary: true } : {}),
  };
}

export function parseLinks(stdout: string): IpLink[] {
  return parseIpJson<JsonLink>(IP_ADDR_COMMAND, stdout).map((l) =>
    toLink(l.ifname, l.flags ?? [], l.link_type, l.linkinfo?.info_kind, endpoints(l.linkinfo?.info_data), (l.addr_info ?? []).map(toAddr)),
  );
}

/** The same links from `ip -d -o link show` and `ip -o addr show` (iproute2 without JSON). */
export function linksFromText(linkText: string, addrText: string): IpLink[] {
  const addrs = parseAddrText(addrText);
  return parseLinkText(linkText).map((l) =>
    toLink(l.ifname, l.flags, l.linkType, l.kind, l.endpoints, addrs.filter((a) => a.ifindex === l.ifindex).map(toAddr)),
  );
}

/** The three tables of one read. */
export function ipAddrTables(links: IpLink[]): IpAddrTables {
  const endpoint = (v: string | undefined) => (v !== undefined && v !== 'any' ? v : undefined);
  return {
    links: links.map((l) => {
      const kind = l.linkinfo?.info_kind;
      return { ifname: l.ifname, flags: l.flags, ...(l.link_type !== undefined ? { link_type: l.link_type } : {}), ...(kind !== undefined ? { kind } : {}) };
    }),
    addresses: links.flatMap((l) => l.addr_info.map((a) => ({ dev: l.ifname, ...a }))),
    tunnels: links.flatMap((l) => {
      // RHEL 6's ipip driver reports no kind; its link type tells.
      const kind = l.linkinfo?.info_kind ?? l.link_type;
      if (kind === undefined || !TUNNEL_KINDS.has(kind)) return [];
      const local = endpoint(l.linkinfo?.info_data?.local);
      const remote = endpoint(l.linkinfo?.info_data?.remote);
      return [{ ifname: l.ifname, kind, ...(local ? { local } : {}), ...(remote ? { remote } : {}) }];
    }),
  };
}

export const IP_ADDR: IpSource<IpAddrTables> = {
  name: 'ip-addr',
  json: ['-d', '-j', 'addr', 'show'],
  fromJson: (stdout) => ipAddrTables(parseLinks(stdout)),
  async fromText(exec) {
    const links = await execOk(exec, 'ip', ['-d', '-o', 'link', 'show']);
    const addrs = await execOk(exec, 'ip', ['-o', 'addr', 'show']);
    return ipAddrTables(linksFromText(links.stdout, addrs.stdout));
  },
};

export function isUp(link: Pick<Link, 'flags'>): boolean {
  return link.flags.includes('UP');
}
