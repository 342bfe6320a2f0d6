import { z } from 'zod';
import type { HostFacts } from '../../common/protocol.js';
import { applyNm, describeNm, nmcliPresent, noConnectionMessage, readNmDevice, type NmDevice, type NmGatewayChange } from '../gateway-nm.js';
import { defineModule } from '../module.js';
import { ipv4, linkName } from '../validate.js';
import keyvalue, { currentValue } from './keyvalue.js';
import type { Route } from '../kstate/ip-route.js';
import route, { applyRoute, covers, planRoute, type RouteChange } from './route.js';

const schema = z
  .object({
    address: ipv4,
    /** The device that reaches the gateway; needed by the ifcfg and nmcli styles unless a connected route tells. */
    device: linkName.optional(),
    state: z.enum(['present', 'absent']).default('present'),
    /** Where the gateway persists; chosen from facts when left out. */
    style: z.enum(['network', 'ifcfg', 'nmcli']).optional(),
  })
  .strict();

type Args = z.output<typeof schema>;
type Style = 'network' | 'ifcfg' | 'nmcli';
type KvArgs = Parameters<typeof keyvalue.plan>[0];
type KvObserved = Parameters<typeof keyvalue.plan>[1];
type KvChange = Parameters<typeof keyvalue.apply>[1][number];

interface Observed {
  style: Style;
  /** The file holding GATEWAY=, unknown when the ifcfg device cannot be told. */
  path?: string;
  file: KvObserved;
  /** nmcli style: the device's active connection, unknown when the device cannot be told. */
  nm?: NmDevice;
  routes: readonly Route[];
}
type Change = { kind: 'file'; path: string; change: KvChange } | NmGatewayChange | { kind: 'route'; change: RouteChange };

const NETWORK = '/etc/sysconfig/network';
const IFCFG_DIR = '/etc/sysconfig/network-scripts';

/**
 * RHEL 6 (SysV initscripts) reads GATEWAY from /etc/sysconfig/network; RHEL 7 and 8
 * (NetworkManager's ifcfg-rh plugin) from the device's ifcfg file; RHEL 9 keeps NetworkManager
 * keyfiles, changed through nmcli. `read` moves a RHEL 7/8 host to nmcli when the device has no
 * ifcfg file and nmcli is there (keyfile profiles on RHEL 8).
 */
export function gatewayStyle(facts: HostFacts, override?: Style): Style {
  if (override) return override;
  const { family, major } = facts.os;
  if (facts.initSystem === 'sysv' || (family === 'redhat' && major > 0 && major < 7)) return 'network';
  if (family === 'redhat' && major >= 9 && facts.initSystem === 'systemd') return 'nmcli';
  if (family === 'redhat') return 'ifcfg';
  throw new Error(`no known place for a persistent gateway on ${facts.os.distro || family}: set style: network, ifcfg or nmcli`);
}

/** The device of the most specific connected route (no gateway) that holds the address. */
export function connectedDevice(routes: readonly Route[], address: string): string | undefined {
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
  summary: 'the default gateway: persisted for the OS (GATEWAY= in sysconfig/network or ifcfg-DEV, or ipv4.gateway via nmcli) and the live default route',
  schema,
  async read(args, ctx) {
    let style = gatewayStyle(ctx.facts, args.style);
    const routes = await ctx.kernel.read('routes');
    const dev = args.device ?? connectedDevice(routes, args.address);
    if (style !== 'nmcli') {
      const path = style === 'network' ? NETWORK : dev ? `${IFCFG_DIR}/ifcfg-${dev}` : undefined;
      const file = path ? await keyvalue.read(kvArgs(path, args), ctx) : { text: null };
      // Chosen from facts, not set: a device without an ifcfg file has a keyfile profile.
      const keyfile = style === 'ifcfg' && !args.style && path !== undefined && file.text === null;
      if (!keyfile || !(await nmcliPresent(ctx.exec))) return { style, ...(path ? { path } : {}), file, routes };
      style = 'nmcli';
    }
    const nm = dev ? await readNmDevice(ctx.exec, dev) : undefined;
    return { style, file: { text: null }, ...(nm ? { nm } : {}), routes };
  },
  plan(args, cur, ctx) {
    const live = planRoute(routeArgs(args), cur.routes);
    const changes: Change[] = [];
    let fileBefore = '';
    let fileAfter = '';
    if (cur.style === 'nmcli' && cur.nm) {
      const nm = cur.nm;
      if (!nm.connection) {
        if (args.state === 'present') throw new Error(noConnectionMessage(nm, args.address));
        fileBefore = fileAfter = describeNm(nm);
      } else {
        const { name, uuid, gateway } = nm.connection;
        // Absent removes our gateway only, never another one set by someone else.
        const want = args.state === 'present' ? args.address : gateway === args.address ? null : gateway;
        fileBefore = describeNm(nm);
        fileAfter = describeNm(nm, want);
        if (want !== gateway) changes.push({ kind: 'nmcli', name, uuid, gateway: want ?? '' });
      }
    } else if (cur.path === undefined) {
      if (args.state === 'present') {
        const what = cur.style === 'nmcli' ? 'NetworkManager' : 'ifcfg';
        throw new Error(`no connected route reaches gateway ${args.address}, so its ${what} device is unknown: set device`);
      }
    } else if (cur.style === 'ifcfg' && cur.file.text === null && args.state === 'present') {
      // Writing a lone GATEWAY= would make NetworkManager load a new, broken profile.
      throw new Error(`${cur.path} does not exist (is the profile a NetworkManager keyfile?): create the ifcfg profile or set style: nmcli or network`);
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
  // The profile changes take effect at the next restart; the live route now.
  touches: ['routes'],
  timeoutMs: 60_000,
  async apply(args, changes, ctx) {
    for (const c of changes) {
      if (c.kind === 'file') await keyvalue.apply(kvArgs(c.path, args), [c.change], ctx);
      // The profile only: `nmcli connection up` would bounce the device; the live route follows.
      else if (c.kind === 'nmcli') await applyNm(ctx.exec, c);
      else await applyRoute([c.change], ctx);
    }
  },
});

/** The default gateway a task puts in place, undefined when it removes one. */
export function placedGateway(args: Args): { address: string; device?: string } | undefined {
  if (args.state !== 'present') return undefined;
  return { address: args.address, ...(args.device !== undefined ? { device: args.device } : {}) };
}

export type GatewayArgs = Args;
