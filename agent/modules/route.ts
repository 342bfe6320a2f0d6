import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import { canonicalDst, canonicalTable, type Route } from '../kstate/ip-route.js';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, type ModuleContext, type Plan } from '../module.js';
import { cidr, device, ipv4 } from '../validate.js';
import { inSubnet, ipToInt } from '../../common/ipv4.js';

const schema = z
  .object({
    /** `default`, a host (`172.25.7.200` or `/32`) or a network (`10.9.0.0/16`). */
    destination: z
      .string()
      .refine((d) => d === 'default' || cidr.safeParse(d).success, 'must be default or an IPv4 address with optional /prefix'),
    gateway: ipv4.optional(),
    /** A label such as `lo:0` (as in `route add -host VIP dev lo:0`) names device lo. */
    device: device.optional(),
    state: z.enum(['present', 'absent']).default('present'),
    /** A number or a name from /etc/iproute2/rt_tables; `main` when left out. */
    table: z
      .union([
        z.number().int().min(1, 'must be a table number 1-4294967295').max(4294967295, 'must be a table number 1-4294967295'),
        z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'must be a table name like main or a number'),
      ])
      .default('main'),
    /** Left out: the route in effect (lowest metric) is the one compared and replaced. */
    metric: z.number().int().min(0).max(4294967295).optional(),
    src: ipv4.optional(),
    scope: z.enum(['global', 'link', 'host']).optional(),
  })
  .strict()
  .transform((a) => {
    const [dev, alias] = a.device?.split(':') ?? [];
    return {
      dst: canonicalDst(a.destination),
      gateway: a.gateway,
      dev,
      state: a.state,
      table: canonicalTable(a.table),
      metric: a.metric,
      src: a.src,
      scope: a.scope,
      note: alias !== undefined ? `${a.device} is an address label, not a device: the route uses device ${dev}` : undefined,
    };
  })
  .refine((a) => a.state === 'absent' || a.gateway !== undefined || a.dev !== undefined, {
    message: 'state=present needs gateway or device',
    path: ['gateway'],
  })
  .refine((a) => a.dst === 'default' || hostBitsClear(a.dst), {
    message: 'has host bits set beyond its prefix (ip refuses it): use the network address',
    path: ['destination'],
  });

export type RouteArgs = z.output<typeof schema>;
/** What the route module's arguments look like before parsing, for modules that reuse it. */
export type RouteInput = z.input<typeof schema>;

export type RouteChange = { kind: 'replace'; route: Route } | { kind: 'del'; route: Route };
type Change = RouteChange;

function hostBitsClear(dst: string): boolean {
  const [ip, len] = dst.split('/');
  return ipToInt(ip) % 2 ** (32 - Number(len)) === 0;
}

/** True when `ip` lies inside `dst` (a canonical destination). */
export function covers(dst: string, ip: string): boolean {
  if (dst === 'default') return true;
  const [net, len] = dst.split('/');
  return inSubnet(net, Number(len), ip);
}

/** `ip route` syntax, for diffs and messages. */
export function formatRoute(r: Route): string {
  return [
    r.dst,
    r.gateway && `via ${r.gateway}`,
    r.dev && `dev ${r.dev}`,
    r.table !== 'main' && `table ${r.table}`,
    r.metric !== 0 && `metric ${r.metric}`,
    r.src && `src ${r.src}`,
    r.scope !== 'global' && !(r.scope === 'link' && !r.gateway) && `scope ${r.scope}`,
  ]
    .filter(Boolean)
    .join(' ');
}

function routeArgv(r: Route): string[] {
  return [
    r.dst,
    ...(r.gateway ? ['via', r.gateway] : []),
    ...(r.dev ? ['dev', r.dev] : []),
    'table', r.table,
    'metric', String(r.metric),
    ...(r.src ? ['src', r.src] : []),
    ...(r.scope !== 'global' ? ['scope', r.scope] : []),
  ];
}

function matches(args: RouteArgs, r: Route): boolean {
  return (
    r.gateway === args.gateway &&
    (args.dev === undefined || r.dev === args.dev) &&
    (args.src === undefined || r.src === args.src) &&
    (args.scope === undefined || r.scope === args.scope)
  );
}

/**
 * Routes are keyed like the kernel keys them: table, destination, metric. Without a metric the
 * route in effect (the lowest metric) stands for the key, so `default via X` means "traffic
 * leaves via X" and replacing it keeps its metric.
 */
export function planRoute(args: RouteArgs, routes: readonly Route[]): Plan<Change> {
  const same = routes
    .filter((r) => r.table === args.table && r.dst === args.dst)
    .sort((a, b) => a.metric - b.metric);
  const show = (rs: Route[]) => (rs.length ? rs.map((r) => formatRoute(r) + '\n').join('') : `${args.dst} (no route${args.table !== 'main' ? ` in table ${args.table}` : ''})\n`);
  const before = show(same);
  const msg = args.note;
  if (args.state === 'absent') {
    const gone = same.filter(
      (r) =>
        (args.metric === undefined || r.metric === args.metric) &&
        (args.gateway === undefined || r.gateway === args.gateway) &&
        (args.dev === undefined || r.dev === args.dev),
    );
    return { changes: gone.map((route) => ({ kind: 'del', route })), before, after: show(same.filter((r) => !gone.includes(r))), msg };
  }
  const current = args.metric === undefined ? same[0] : same.find((r) => r.metric === args.metric);
  if (current && matches(args, current)) return { changes: [], before, after: before, msg };
  const want: Route = {
    table: args.table,
    dst: args.dst,
    ...(args.gateway ? { gateway: args.gateway } : {}),
    // Without a device the kernel picks the one that reaches the gateway.
    ...(args.dev ? { dev: args.dev } : {}),
    metric: args.metric ?? current?.metric ?? 0,
    ...(args.src ? { src: args.src } : {}),
    scope: args.scope ?? (args.gateway ? 'global' : 'link'),
  };
  const after = show([...same.filter((r) => r !== current), want].sort((a, b) => a.metric - b.metric));
  return { changes: [{ kind: 'replace', route: want }], before, after, msg };
}

export async function applyRoute(changes: Change[], ctx: Pick<ModuleContext, 'exec'>): Promise<void> {
  for (const c of changes) {
    // A deletion names every attribute read, so that only that one route goes.
    await execOk(ctx.exec, 'ip', ['route', c.kind, ...routeArgv(c.route)]);
  }
}

export default defineModule<RouteArgs, readonly Route[], Change>({
  name: 'route',
  summary: 'an IPv4 route: a host route (VIP dev lo) or a default route via a gateway',
  schema,
  read(_args, ctx) {
    return ctx.kernel.read('routes');
  },
  plan(args, routes) {
    return planRoute(args, routes);
  },
  owns(args) {
    if (args.state === 'absent') return undefined;
    const retire = { destination: args.dst, table: /^\d+$/.test(args.table) ? Number(args.table) : args.table, state: 'absent', ...(args.metric !== undefined ? { metric: args.metric } : {}) };
    return { id: `route:${args.table}:${args.dst}:${args.metric ?? ''}`, retire };
  },
  describe: describeRoute,
  apply(_args, changes, ctx) {
    return applyRoute(changes, ctx);
  },
  touches: ['routes'],
  timeoutMs: 60_000,
});

/**
 * Drift findings: one per route the plan replaces or deletes, keyed by destination, table and
 * metric as the kernel keys routes.
 */
export function describeRoute(args: RouteArgs, routes: Route[], plan: Plan<RouteChange>): FieldDrift[] {
  const field = (r: Pick<Route, 'dst' | 'table'> & { metric?: number }) =>
    `route ${r.dst}${r.table !== 'main' ? ` table ${r.table}` : ''}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`;
  return plan.changes.map((c): FieldDrift => {
    if (c.kind === 'del') {
      const have = formatRoute(c.route);
      return { field: field(c.route), before: have, after: null, text: `route ${have} present, want it absent` };
    }
    const same = routes.filter((r) => r.table === args.table && r.dst === args.dst).sort((a, b) => a.metric - b.metric);
    const cur = args.metric === undefined ? same[0] : same.find((r) => r.metric === args.metric);
    const want = formatRoute(c.route);
    const key = field({ dst: args.dst, table: args.table, ...(args.metric !== undefined ? { metric: args.metric } : {}) });
    if (!cur) return { field: key, before: null, after: want, text: `route ${want} missing` };
    const have = formatRoute(cur);
    return { field: key, before: have, after: want, text: `route ${args.dst} is ${have}, want ${want}` };
  });
}
