import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import { readIpTable } from '../iproute.js';
import { parseAddrText, parseLinkText } from '../iproute-text.js';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, type ModuleContext, type Plan } from '../module.js';
import { cidr, device } from '../validate.js';
import { ROUTE_TABLE, parseIpJson } from './route.js';

const schema = z
  .object({
    /** `172.25.7.100/24`; a bare address is a /32, as a VIP on lo or tunl0 must be. */
    address: cidr,
    /** `eth0`, or `eth0:0` / `lo:0` as shorthand for the device and that label. */
    device,
    /** Alias label (`eth0:0`); left out, whatever label the address has is accepted. */
    label: device.optional(),
    state: z.enum(['present', 'absent']).default('present'),
    /** Bring the device up too (`ip link set D up`), as `ifconfig ... up` does. */
    up: z.boolean().default(true),
  })
  .strict()
  .transform((a) => {
    const [dev, alias] = a.device.split(':');
    const [ip, len] = a.address.split('/');
    return {
      ip,
      prefix: len === undefined ? 32 : Number(len),
      dev,
      label: a.label ?? (alias !== undefined ? a.device : undefined),
      deviceLabel: alias !== undefined ? a.device : undefined,
      state: a.state,
      up: a.up,
    };
  })
  .refine((a) => a.label === undefined || a.label.startsWith(a.dev), {
    message: 'must start with the device name (Linux requires it), like eth0:0 for eth0',
    path: ['label'],
  })
  .refine((a) => a.label === undefined || a.label.length <= 15, {
    message: 'must be at most 15 characters (IFNAMSIZ)',
    path: ['label'],
  })
  .refine((a) => a.deviceLabel === undefined || a.label === a.deviceLabel, {
    message: 'device already names a label that differs from label',
    path: ['label'],
  });

type Args = z.output<typeof schema>;

/**
 * The fields of one `ip -d -j addr show` link that the network modules read, and nothing else:
 * the JSON is cut down to these so that the text form of iproute2 releases without JSON
 * (iproute-text.ts) gives the very same objects.
 */
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
export interface IpLink {
  ifname: string;
  flags: string[];
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: Endpoints };
  addr_info: IpAddr[];
}

/** Cache key of the link and address table, read once per run (details for tunnel kinds). */
export const ADDR_TABLE = 'ip -d -j addr show';

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
  return parseIpJson<JsonLink>(ADDR_TABLE, stdout).map((l) =>
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

export function readLinks(ctx: Pick<ModuleContext, 'exec' | 'cache'>): Promise<IpLink[]> {
  return readIpTable(ctx, {
    key: ADDR_TABLE,
    json: ['-d', '-j', 'addr', 'show'],
    fromJson: parseLinks,
    async fromText({ exec }) {
      const links = await execOk(exec, 'ip', ['-d', '-o', 'link', 'show']);
      const addrs = await execOk(exec, 'ip', ['-o', 'addr', 'show']);
      return linksFromText(links.stdout, addrs.stdout);
    },
  });
}

export function isUp(link: IpLink): boolean {
  return link.flags.includes('UP');
}

interface Addr {
  local: string;
  prefixlen: number;
  label: string;
  secondary: boolean;
}
interface Observed {
  dev: string;
  exists: boolean;
  /** Check mode: the device is missing, but an earlier task of the run would create it. */
  promised?: boolean;
  up: boolean;
  addrs: Addr[];
}
type Change =
  | { kind: 'del'; ip: string; prefix: number }
  | { kind: 'add'; ip: string; prefix: number; label?: string }
  | { kind: 'up' };

export function observe(links: IpLink[], dev: string): Observed {
  const link = links.find((l) => l.ifname === dev);
  if (!link) return { dev, exists: false, up: false, addrs: [] };
  const addrs = link.addr_info
    .filter((a) => a.family === 'inet')
    .map((a) => ({ local: a.local, prefixlen: a.prefixlen, label: a.label ?? dev, secondary: a.secondary === true }));
  return { dev, exists: true, up: isUp(link), addrs };
}

function network(ip: string, prefix: number): number {
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return prefix === 0 ? 0 : n - (n % 2 ** (32 - prefix));
}

function show(dev: string, up: boolean, addrs: Addr[]): string {
  const lines = addrs.map((a) => `  inet ${a.local}/${a.prefixlen}${a.label !== dev ? ` label ${a.label}` : ''}\n`);
  return `${dev}: ${up ? 'up' : 'down'}\n${lines.join('')}`;
}

export default defineModule<Args, Observed, Change>({
  name: 'address',
  summary: 'an IPv4 address with prefix (and alias label) on a device, e.g. a VIP on lo:0 or tunl0',
  schema,
  async read(args, ctx) {
    const cur = observe(await readLinks(ctx), args.dev);
    return cur.exists ? cur : { ...cur, promised: ctx.cache.promised(`link:${args.dev}`) };
  },
  plan(args, cur) {
    const before = cur.exists ? show(cur.dev, cur.up, cur.addrs) : `${cur.dev}: (no such device${cur.promised ? ' yet: an earlier task creates it' : ''})\n`;
    const mine = cur.addrs.filter((a) => a.local === args.ip);
    if (args.state === 'absent') {
      if (!mine.length) return { changes: [], before, after: before };
      const changes: Change[] = mine.map((a) => ({ kind: 'del', ip: a.local, prefix: a.prefixlen }));
      return { changes, before, after: show(cur.dev, cur.up, cur.addrs.filter((a) => !mine.includes(a))), msg: flushNote(cur, mine) };
    }
    if (!cur.exists && !cur.promised) throw new Error(`device ${args.dev} does not exist (create it first: tunnel module, or load its driver)`);
    const keep = mine.find((a) => a.prefixlen === args.prefix && (args.label === undefined || a.label === args.label));
    const stale = mine.filter((a) => a !== keep);
    const changes: Change[] = stale.map((a) => ({ kind: 'del', ip: a.local, prefix: a.prefixlen }));
    if (!keep) changes.push({ kind: 'add', ip: args.ip, prefix: args.prefix, ...(args.label ? { label: args.label } : {}) });
    if (args.up && !cur.up) changes.push({ kind: 'up' });
    const afterAddrs = cur.addrs.filter((a) => !stale.includes(a));
    if (!keep) afterAddrs.push({ local: args.ip, prefixlen: args.prefix, label: args.label ?? cur.dev, secondary: false });
    return { changes, before, after: show(cur.dev, cur.up || args.up, afterAddrs), msg: flushNote(cur, stale) };
  },
  owns(args) {
    if (args.state === 'absent') return undefined;
    return { id: `address:${args.dev}:${args.ip}`, retire: { address: `${args.ip}/${args.prefix}`, device: args.dev, state: 'absent' } };
  },
  describe: describeAddress,
  async apply(args, changes, ctx) {
    try {
      for (const c of changes) {
        if (c.kind === 'del') await execOk(ctx.exec, 'ip', ['addr', 'del', `${c.ip}/${c.prefix}`, 'dev', args.dev]);
        else if (c.kind === 'add') {
          // `brd +` derives the broadcast from the prefix as ifconfig does (none for /31 and /32).
          const label = c.label ? ['label', c.label] : [];
          await execOk(ctx.exec, 'ip', ['addr', 'add', `${c.ip}/${c.prefix}`, 'brd', '+', 'dev', args.dev, ...label]);
        } else await execOk(ctx.exec, 'ip', ['link', 'set', args.dev, 'up']);
      }
    } finally {
      // Addresses bring their own local and prefix routes.
      ctx.cache.invalidate(ADDR_TABLE, ROUTE_TABLE);
    }
  },
});

/**
 * Deleting a primary address makes the kernel drop the secondaries of its subnet too (unless
 * net.ipv4.conf.DEV.promote_secondaries is set); say so rather than surprise the operator.
 */
function flushNote(cur: Observed, deleted: Addr[]): string | undefined {
  const lost = deleted
    .filter((d) => !d.secondary)
    .flatMap((d) =>
      cur.addrs.filter(
        (a) => a.secondary && !deleted.includes(a) && a.prefixlen === d.prefixlen && network(a.local, a.prefixlen) === network(d.local, d.prefixlen),
      ),
    );
  if (!lost.length) return undefined;
  return `deleting a primary address also removes its secondaries unless promote_secondaries is set: ${lost
    .map((a) => `${a.local}/${a.prefixlen}`)
    .join(', ')}`;
}

/**
 * Drift findings: the address (missing, present when it should not be, or with another
 * prefix or label) and the device's link state, each its own field.
 */
export function describeAddress(args: Args, cur: Observed, plan: Plan<Change>): FieldDrift[] {
  const field = `${args.ip} on ${args.dev}`;
  const shown = (a: { local: string; prefixlen: number; label: string }) => `${a.local}/${a.prefixlen}${a.label !== cur.dev ? ` label ${a.label}` : ''}`;
  const have = cur.addrs.filter((a) => a.local === args.ip).map(shown).join(', ') || null;
  const out: FieldDrift[] = [];
  if (plan.changes.some((c) => c.kind === 'add' || c.kind === 'del')) {
    const want = args.state === 'absent' ? null : `${args.ip}/${args.prefix}${args.label && args.label !== args.dev ? ` label ${args.label}` : ''}`;
    const where = cur.exists || cur.promised ? `on ${args.dev}` : `on ${args.dev} (no such device)`;
    const text =
      want === null ? `${have} present ${where}, want it absent` : have === null ? `${args.ip}/${args.prefix} missing ${where}` : `${args.ip} ${where} is ${have}, want ${want}`;
    out.push({ field, before: have, after: want, text });
  }
  if (plan.changes.some((c) => c.kind === 'up')) {
    out.push({ field: `link ${args.dev}`, before: cur.exists ? 'down' : null, after: 'up', text: `${args.dev} is ${cur.exists ? 'down' : 'missing'}, want up` });
  }
  return out;
}
