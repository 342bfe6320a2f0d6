import { z } from 'zod';
import type { HostFacts } from '../../common/protocol.js';
import { defineModule } from '../module.js';
import { ipv4, linkName } from '../validate.js';
import keyvalue, { currentValue } from './keyvalue.js';
import route, { applyRoute, covers, planRoute, readRoutes, type Route, type RouteChange } from './route.js';

const schema = z
  .object({
    address: ipv4,
    /** The device that reaches the gateway; needed by the ifcfg style unless a connected route tells. */
    device: linkName.optional(),
    state: z.enum(['present', 'absent']).default('present'),
    /** Where the gateway persists; chosen from facts when left out. */
    style: z.enum(['network', 'ifcfg']).optional(),
  })
  .strict();

type Args = z.output<typeof schema>;
type Style = 'network' | 'ifcfg';
type KvArgs = Parameters<typeof keyvalue.plan>[0];
type KvObserved = Parameters<typeof keyvalue.plan>[1];
type KvChange = Parameters<typeof keyvalue.apply>[1][number];

interface Observed {
  style: Style;
  /** The file holding GATEWAY=, unknown when the ifcfg device cannot be told. */
  path?: string;
  file: KvObserved;
  routes: Route[];
}
type Change = { kind: 'file'; path: string; change: KvChange } | { kind: 'route'; change: RouteChange };

const NETWORK = '/etc/sysconfig/network';
const IFCFG_DIR = '/etc/sysconfig/network-scripts';

/**
 * RHEL 6 (SysV initscripts) reads GATEWAY from /etc/sysconfig/network; RHEL 7 and later
 * (NetworkManager's ifcfg-rh plugin) from the device's ifcfg file.
 */
export function gatewayStyle(facts: HostFacts, override?: Style): Style {
  if (override) return override;
  const { family, major } = facts.os;
  if (facts.initSystem === 'sysv' || (family === 'redhat' && major > 0 && major < 7)) return 'network';
  if (family === 'redhat') return 'ifcfg';
  throw new Error(`no known place for a persistent gateway on ${facts.os.distro || family}: set style: network or ifcfg`);
}

/** The device of the most specific connected route (no gateway) that holds the address. */
export function connectedDevice(routes: Route[], address: string): string | undefined {
  return routes
    .filter((r) => r.table === 'main' && r.dst !== 'default' && !r.gateway && r.dev && covers(r.dst, address))
    .sort((a, b) => Number(b.dst.split('/')[1]) - Number(a.dst.split('/')[1]))[0]?.dev;
}

function kvArgs(path: string, args: Args): KvArgs {
  return keyvalue.schema.parse({ path, key: 'GATEWAY', value: args.address, state: args.state });
}

function routeArgs(args: Args) {
  return route.schema.parse({ destination: 'default', gateway: args.address, device: args.device, state: args.state });
}

export default defineModule<Args, Observed, Change>({
  name: 'gateway',
  summary: 'the default gateway: GATEWAY= persisted for the OS (sysconfig/network or ifcfg-DEV) and the live default route',
  schema,
  async read(args, ctx) {
    const style = gatewayStyle(ctx.facts, args.style);
    const routes = await readRoutes(ctx);
    const dev = args.device ?? connectedDevice(routes, args.address);
    const path = style === 'network' ? NETWORK : dev ? `${IFCFG_DIR}/ifcfg-${dev}` : undefined;
    const file = path ? await keyvalue.read(kvArgs(path, args), ctx) : { text: null };
    return { style, ...(path ? { path } : {}), file, routes };
  },
  plan(args, cur, ctx) {
    const live = planRoute(routeArgs(args), cur.routes);
    const changes: Change[] = [];
    let fileBefore = '';
    let fileAfter = '';
    if (cur.path === undefined) {
      if (args.state === 'present') {
        throw new Error(`no connected route reaches gateway ${args.address}, so its ifcfg device is unknown: set device`);
      }
    } else if (cur.style === 'ifcfg' && cur.file.text === null && args.state === 'present') {
      // Writing a lone GATEWAY= would make NetworkManager load a new, broken profile.
      throw new Error(`${cur.path} does not exist (NetworkManager keyfile profiles, as on RHEL 9, are not handled): create the ifcfg profile or set style: network`);
    } else {
      const kv = keyvalue.plan(kvArgs(cur.path, args), cur.file, ctx);
      fileBefore = `${cur.path}: ${kv.before}`;
      fileAfter = `${cur.path}: ${kv.after}`;
      // Absent removes our gateway only, never another one set by someone else.
      const ours = args.state === 'present' || currentValue(cur.file.text, 'GATEWAY') === args.address;
      if (ours) changes.push(...kv.changes.map((change): Change => ({ kind: 'file', path: cur.path!, change })));
      else fileAfter = fileBefore;
    }
    changes.push(...live.changes.map((change): Change => ({ kind: 'route', change })));
    const indent = (t: string) => t.replace(/^(?=.)/gm, '  ');
    return {
      changes,
      before: `${fileBefore}live:\n${indent(live.before)}`,
      after: `${fileAfter}live:\n${indent(live.after)}`,
    };
  },
  owns(args) {
    if (args.state === 'absent') return undefined;
    const retire = { address: args.address, state: 'absent', ...(args.device ? { device: args.device } : {}), ...(args.style ? { style: args.style } : {}) };
    return { id: `gateway:${args.address}`, retire };
  },
  async apply(args, changes, ctx) {
    for (const c of changes) {
      if (c.kind === 'file') await keyvalue.apply(kvArgs(c.path, args), [c.change], ctx);
      else await applyRoute([c.change], ctx);
    }
  },
});
