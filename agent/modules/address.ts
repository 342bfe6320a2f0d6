import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import { ipToInt } from '../../common/ipv4.js';
import { isUp, type IpAddrTables } from '../kstate/ip-addr.js';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, type Plan } from '../module.js';
import { cidr, device } from '../validate.js';

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

export function observe(ip: Pick<IpAddrTables, 'links' | 'addresses'>, dev: string): Observed {
  const link = ip.links.find((l) => l.ifname === dev);
  if (!link) return { dev, exists: false, up: false, addrs: [] };
  const addrs = ip.addresses
    .filter((a) => a.dev === dev && a.family === 'inet')
    .map((a) => ({ local: a.local, prefixlen: a.prefixlen, label: a.label ?? dev, secondary: a.secondary === true }));
  return { dev, exists: true, up: isUp(link), addrs };
}

function network(ip: string, prefix: number): number {
  const n = ipToInt(ip);
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
    const cur = observe({ links: await ctx.kernel.read('links'), addresses: await ctx.kernel.read('addresses') }, args.dev);
    return cur.exists ? cur : { ...cur, promised: ctx.kernel.promised(`link:${args.dev}`) };
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
    for (const c of changes) {
      if (c.kind === 'del') await execOk(ctx.exec, 'ip', ['addr', 'del', `${c.ip}/${c.prefix}`, 'dev', args.dev]);
      else if (c.kind === 'add') {
        // `brd +` derives the broadcast from the prefix as ifconfig does (none for /31 and /32).
        const label = c.label ? ['label', c.label] : [];
        await execOk(ctx.exec, 'ip', ['addr', 'add', `${c.ip}/${c.prefix}`, 'brd', '+', 'dev', args.dev, ...label]);
      } else await execOk(ctx.exec, 'ip', ['link', 'set', args.dev, 'up']);
    }
  },
  // Addresses bring their own local and prefix routes; `up` sets the link's flags.
  touches: (args) => (args.state === 'present' && args.up ? ['addresses', 'routes', 'links'] : ['addresses', 'routes']),
  timeoutMs: 60_000,
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

/** An address a task puts in place: the device without its alias label, as the kernel names it. */
export interface PlacedAddress {
  device: string;
  label?: string;
  address: string;
  prefix: number;
}

/** What an address task puts on the host (nothing for `state: absent`), defaults filled in. */
export function placedAddresses(args: Args): PlacedAddress[] {
  if (args.state !== 'present') return [];
  return [{ device: args.dev, ...(args.label !== undefined ? { label: args.label } : {}), address: args.ip, prefix: args.prefix }];
}

export type AddressArgs = Args;

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
