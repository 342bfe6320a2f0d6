/**
 * Parsers for the text that iproute2 prints where it has no JSON (`-j`): RHEL 6's 2.6.32 and
 * RHEL 7's 3.10/4.11. Formats, as in iproute2's ip/ipaddress.c and ip/iproute.c of those releases
 * and of 6.1 alike:
 *
 * - `ip [-d] -o link show`: one line a link, `\` where a line break would be:
 *   `3: eth0@eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP ...\    link/ether 3e:.. brd ff:..`
 *   then, with `-d` and a link kind, `\    veth ...` or `\    ipip ipip remote any local any ...`.
 * - `ip -o addr show`: one line an address, `2: eth0    inet 172.25.7.3/24 brd 172.25.7.255 scope global eth0`,
 *   flags (`secondary`, ...) before the label, `\       valid_lft ...` after it when the kernel
 *   sends lifetimes (IPv6 always, IPv4 from Linux 3.9). Before iproute2 4.x the link lines
 *   (`N: NAME: <FLAGS> ...`) are printed in between; they are skipped here.
 * - `ip -4 route show table all`: one line a route, the type first unless unicast (`local ...`,
 *   `broadcast ...`), then `via`, `dev`, ` table T ` (not for main), ` proto P `, ` scope S `,
 *   ` src A `, ` metric N ` (old releases print these with two spaces around); a multipath
 *   route's `nexthop` lines follow indented.
 */

/** One link of `ip [-d] -o link show`. */
export interface TextLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate?: string;
  /** `ether`, `loopback`, `ipip`, `none` (the `link/TYPE` word). */
  linkType?: string;
  /** The link-layer address after `link/TYPE`, when there is one. */
  address?: string;
  /** The link kind of `-d` output (`veth`, `ipip`), when the kernel reports one. */
  kind?: string;
  /** `local`/`remote` of the kind's details (tunnels). */
  endpoints?: { local?: string; remote?: string };
}

/** One address line of `ip -o addr show`. */
export interface TextAddr {
  ifindex: number;
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  label?: string;
  secondary?: boolean;
}

/** One route of `ip -4 route show table all`, with the field names of iproute2's JSON. */
export interface TextRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  metric?: number;
  prefsrc?: string;
  scope?: string;
}

const ROUTE_TYPES = new Set(['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve']);
const LINK_HEADER = /^(\d+):\s+([^\s:@]+)(?:@[^\s:]*)?:\s+<([^>]*)>(.*)$/;
const ADDR_LINE = /^(\d+):\s+(\S+)\s+(inet6?)\s+(.*)$/;
const LINK_ADDRESS = /^[0-9a-f]+([:.][0-9a-f]+)*$/i;

const words = (s: string) => s.trim().split(/\s+/).filter(Boolean);

/** The word after `key` in `ws`, if any. */
function after(ws: string[], key: string): string | undefined {
  const i = ws.indexOf(key);
  return i >= 0 ? ws[i + 1] : undefined;
}

/** Lines that start a record (`N: ...`), split at the `\` marks of one-line output. */
function records(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => /^\d+:\s/.test(l))
    .map((l) => l.split('\\'));
}

export function parseLinkText(stdout: string): TextLink[] {
  const links: TextLink[] = [];
  for (const segs of records(stdout)) {
    const head = segs[0].match(LINK_HEADER);
    if (!head) continue;
    const link: TextLink = {
      ifindex: Number(head[1]),
      ifname: head[2],
      flags: head[3] ? head[3].split(',') : [],
    };
    const operstate = after(words(head[4]), 'state');
    if (operstate) link.operstate = operstate;
    const at = segs.findIndex((s) => s.trimStart().startsWith('link/'));
    if (at >= 0) {
      const ws = words(segs[at]);
      link.linkType = ws[0].slice('link/'.length);
      if (ws[1] && LINK_ADDRESS.test(ws[1])) link.address = ws[1];
      const kind = segs[at + 1] === undefined ? [] : words(segs[at + 1]);
      // The kind follows the link/ segment directly; a port's `bridge_slave` or an `altname` is no kind.
      if (kind[0] && !kind[0].endsWith('_slave') && !['altname', 'alias', 'vf'].includes(kind[0])) {
        link.kind = kind[0];
        const local = after(kind, 'local');
        const remote = after(kind, 'remote');
        if (local || remote) link.endpoints = { ...(local ? { local } : {}), ...(remote ? { remote } : {}) };
      }
    }
    links.push(link);
  }
  return links;
}

export function parseAddrText(stdout: string): TextAddr[] {
  const addrs: TextAddr[] = [];
  for (const segs of records(stdout)) {
    const m = segs[0].match(ADDR_LINE);
    if (!m) continue;
    const [, index, dev, family, rest] = m;
    const ws = words(rest);
    const [local, len] = ws[0].split('/');
    const peer = ws[1] === 'peer' ? ws[2] : undefined;
    const addr: TextAddr = { ifindex: Number(index), family, local, prefixlen: Number(peer ? peer.split('/')[1] : len) };
    const brd = after(ws, 'brd');
    if (brd) addr.broadcast = brd;
    if (family === 'inet') {
      // IPv4 addresses always carry a label (the device name unless set), printed last.
      const last = ws[ws.length - 1];
      if (ws.length > 1 && last.startsWith(dev)) addr.label = last;
      if (ws.includes('secondary')) addr.secondary = true;
    }
    addrs.push(addr);
  }
  return addrs;
}

export function parseRouteText(stdout: string): TextRoute[] {
  const routes: TextRoute[] = [];
  for (const line of stdout.split('\n')) {
    // Indented lines are a multipath route's nexthops or a cache entry's details.
    if (!line.trim() || /^\s/.test(line)) continue;
    const ws = words(line);
    const route: Partial<TextRoute> = {};
    if (ROUTE_TYPES.has(ws[0])) route.type = ws.shift();
    route.dst = ws.shift();
    const gateway = after(ws, 'via');
    const dev = after(ws, 'dev');
    const table = after(ws, 'table');
    const metric = after(ws, 'metric');
    const prefsrc = after(ws, 'src');
    const scope = after(ws, 'scope');
    if (gateway) route.gateway = gateway;
    if (dev) route.dev = dev;
    if (table) route.table = table;
    if (metric) route.metric = Number(metric);
    if (prefsrc) route.prefsrc = prefsrc;
    if (scope) route.scope = scope;
    routes.push(route as TextRoute);
  }
  return routes;
}
