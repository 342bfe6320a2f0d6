import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import { isUp, type IpAddrTables } from '../kstate/ip-addr.js';
import type { Table } from '../kstate/tables.js';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, type Plan } from '../module.js';
import { ipv4, linkName } from '../validate.js';
import { loadModule } from './kernel_module.js';

/** The ipip module's fallback device: it exists once the module is loaded and cannot be deleted. */
const FALLBACK = 'tunl0';

const schema = z
  .object({
    name: linkName.default(FALLBACK),
    /** Endpoints of a point-to-point tunnel; left out, any (what TUN-mode real servers need). */
    local: ipv4.optional(),
    remote: ipv4.optional(),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict()
  .refine((a) => a.name !== FALLBACK || (a.local === undefined && a.remote === undefined), {
    message: 'tunl0 is the ipip fallback device and takes no local/remote: name another tunnel',
    path: ['name'],
  });

type Args = z.output<typeof schema>;

export interface TunnelState {
  name: string;
  exists: boolean;
  kind?: string;
  up: boolean;
  local?: string;
  remote?: string;
}
type Change =
  | { kind: 'load-ipip' }
  | { kind: 'add' }
  | { kind: 'modify' }
  | { kind: 'up' }
  | { kind: 'down' }
  | { kind: 'delete' };

export function observeTunnel(ip: Pick<IpAddrTables, 'links' | 'tunnels'>, name: string): TunnelState {
  const link = ip.links.find((l) => l.ifname === name);
  if (!link) return { name, exists: false, up: false };
  const tunnel = ip.tunnels.find((t) => t.ifname === name);
  return {
    name,
    exists: true,
    kind: link.kind ?? link.link_type,
    up: isUp(link),
    ...(tunnel?.local ? { local: tunnel.local } : {}),
    ...(tunnel?.remote ? { remote: tunnel.remote } : {}),
  };
}

/** Devices, their addresses and routes, and (loading ipip) the module list. */
const TOUCHES: readonly Table[] = ['links', 'tunnels', 'addresses', 'routes'];

function show(t: TunnelState): string {
  if (!t.exists) return `${t.name}: (absent)\n`;
  return `${t.name}: ${t.kind ?? 'unknown'} ${t.up ? 'up' : 'down'} local ${t.local ?? 'any'} remote ${t.remote ?? 'any'}\n`;
}

function endpoints(args: Args): string[] {
  return [...(args.local ? ['local', args.local] : []), ...(args.remote ? ['remote', args.remote] : [])];
}

export default defineModule<Args, TunnelState, Change>({
  name: 'tunnel',
  summary: 'an IP-in-IP tunnel device (tunl0 for LVS TUN mode) present and up, or absent',
  schema,
  async read(args, ctx) {
    return observeTunnel({ links: await ctx.kernel.read('links'), tunnels: await ctx.kernel.read('tunnels') }, args.name);
  },
  plan(args, cur) {
    const before = show(cur);
    if (args.state === 'absent') {
      if (!cur.exists) return { changes: [], before, after: before };
      if (args.name === FALLBACK) {
        const msg = 'tunl0 cannot be deleted while the ipip module is loaded: set down (unload ipip with kernel_module state=absent)';
        return cur.up
          ? { changes: [{ kind: 'down' }], before, after: show({ ...cur, up: false }), msg }
          : { changes: [], before, after: before, msg };
      }
      return { changes: [{ kind: 'delete' }], before, after: show({ name: cur.name, exists: false, up: false }) };
    }
    const want: TunnelState = { name: args.name, exists: true, kind: 'ipip', up: true, ...(args.local ? { local: args.local } : {}), ...(args.remote ? { remote: args.remote } : {}) };
    if (!cur.exists) {
      // Loading ipip creates tunl0 in every namespace; another name is created explicitly.
      const changes: Change[] = args.name === FALLBACK ? [{ kind: 'load-ipip' }, { kind: 'up' }] : [{ kind: 'add' }, { kind: 'up' }];
      return { changes, before, after: show(want) };
    }
    if (cur.kind !== 'ipip') throw new Error(`${args.name} exists but is a ${cur.kind ?? 'unknown'} device, not an ipip tunnel`);
    const changes: Change[] = [];
    if ((args.local !== undefined && args.local !== cur.local) || (args.remote !== undefined && args.remote !== cur.remote)) {
      changes.push({ kind: 'modify' });
    }
    if (!cur.up) changes.push({ kind: 'up' });
    return { changes, before, after: show({ ...cur, ...want }) };
  },
  creates(args) {
    return args.state === 'present' ? [`link:${args.name}`] : [];
  },
  owns(args) {
    return args.state === 'absent' ? undefined : { id: `tunnel:${args.name}`, retire: { name: args.name, state: 'absent' } };
  },
  describe: describeTunnel,
  async apply(args, changes, ctx) {
    for (const c of changes) {
      switch (c.kind) {
        case 'load-ipip': {
          await loadModule('ipip', ctx);
          const links = await ctx.kernel.reread('links');
          if (!links.some((l) => l.ifname === FALLBACK)) {
            throw new Error('ipip is loaded but tunl0 did not appear (is net.core.fb_tunnels_only_for_init_net set?)');
          }
          break;
        }
        case 'add':
          await execOk(ctx.exec, 'ip', ['link', 'add', args.name, 'type', 'ipip', ...endpoints(args)]);
          break;
        case 'modify':
          await execOk(ctx.exec, 'ip', ['link', 'set', args.name, 'type', 'ipip', ...endpoints(args)]);
          break;
        case 'up':
        case 'down':
          await execOk(ctx.exec, 'ip', ['link', 'set', args.name, c.kind]);
          break;
        case 'delete':
          await execOk(ctx.exec, 'ip', ['link', 'del', args.name]);
          break;
      }
    }
  },
  touches: (args) => (args.name === FALLBACK && args.state === 'present' ? [...TOUCHES, 'modules'] : TOUCHES),
  timeoutMs: 60_000,
});

/** Drift findings: the tunnel's existence, its endpoints and its link state, each its own field. */
export function describeTunnel(args: Args, cur: TunnelState, plan: Plan<Change>): FieldDrift[] {
  const kinds = new Set(plan.changes.map((c) => c.kind));
  const ends = (t: Pick<TunnelState, 'local' | 'remote'>) => `local ${t.local ?? 'any'} remote ${t.remote ?? 'any'}`;
  const out: FieldDrift[] = [];
  if (kinds.has('load-ipip') || kinds.has('add')) {
    const why = kinds.has('load-ipip') ? ' (ipip module not loaded)' : '';
    return [{ field: `tunnel ${args.name}`, before: null, after: `ipip ${ends(args)} up`, text: `tunnel ${args.name} missing${why}` }];
  }
  if (kinds.has('delete')) out.push({ field: `tunnel ${args.name}`, before: `${cur.kind ?? 'unknown'} ${ends(cur)}`, after: null, text: `tunnel ${args.name} present, want it absent` });
  if (kinds.has('modify')) {
    const want = ends({ local: args.local ?? cur.local, remote: args.remote ?? cur.remote });
    out.push({ field: `tunnel ${args.name} endpoints`, before: ends(cur), after: want, text: `tunnel ${args.name} is ${ends(cur)}, want ${want}` });
  }
  for (const k of ['up', 'down'] as const) {
    if (!kinds.has(k)) continue;
    const have = k === 'up' ? 'down' : 'up';
    out.push({ field: `link ${args.name}`, before: have, after: k, text: `${args.name} is ${have}, want ${k}` });
  }
  return out;
}
