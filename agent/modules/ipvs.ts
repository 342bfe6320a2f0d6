import { z } from 'zod';
import { defineModule, hostPath, type ModuleContext } from '../module.js';
import { absPath, ipv4, netmask4, port } from '../validate.js';
import { prefixToNetmask } from '../../common/ipv4.js';
import { readText, writeAtomic } from '../fsutil.js';
import type { ListTable } from '../ipvs/parse-list.js';
import { batchText, changeLine, reconcile, type IpvsChange } from '../ipvs/plan.js';
import { realServerKey, renderTable, serviceKey, type IpvsTable, type VirtualService } from '../ipvs/table.js';
import type { KernelState } from '../kstate/kernel-state.js';
import { describeIpvs } from '../ipvs/describe.js';
import { realServerHealthShape, refineServiceHealth, serviceHealthShape } from '../health/service-schema.js';
import { healthSource } from '../health/ipvs-hook.js';
import { healthLabels, healthSummary, type HealthObserved } from '../ipvs/health-plan.js';

// ipvsadm 1.31 lists rr..mh (SCHEDULERS); twos is a newer kernel scheduler ipvsadm passes through.
const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;
/** ipvsadm's MAX_TIMEOUT (31 days) and IPVS_SVC_PERSISTENT_TIMEOUT (6*60) for a bare `-p`. */
const MAX_PERSISTENCE = 86400 * 31;
const DEFAULT_PERSISTENCE = 360;
const PERSISTENT_RANGE = `persistent must be 1-${MAX_PERSISTENCE} seconds or true`;

const range = (what: string, max: number) =>
  z.number().int().min(0, `${what} must be 0-${max}`).max(max, `${what} must be 0-${max}`);

const realServer = z
  .object({
    address: ipv4,
    /** Defaults to the virtual port (0 for fwmark services), as ipvsadm does. */
    port: port.optional(),
    forwarding: z.enum(['nat', 'tun', 'dr'], { error: 'forwarding must be nat, tun or dr' }).default('dr'),
    weight: range('weight', 65535).default(1),
    uThreshold: range('uThreshold', 2147483647).optional(),
    lThreshold: range('lThreshold', 2147483647).optional(),
    ...realServerHealthShape,
  })
  .strict();

const service = z
  .object({
    protocol: z.enum(['tcp', 'udp', 'fwmark'], { error: 'protocol must be tcp, udp or fwmark' }).default('tcp'),
    address: ipv4.optional(),
    port: port.optional(),
    fwmark: z.number().int().min(1, 'fwmark must be 1-4294967295').max(4294967295, 'fwmark must be 1-4294967295').optional(),
    scheduler: z.enum(SCHEDULERS, { error: `scheduler must be one of ${SCHEDULERS.join(', ')}` }).default('wlc'),
    /** Seconds, or true for ipvsadm's default of 360. */
    persistent: z
      .union([z.boolean(), z.number().int().min(1, PERSISTENT_RANGE).max(MAX_PERSISTENCE, PERSISTENT_RANGE)], { error: PERSISTENT_RANGE })
      .optional(),
    /** Persistence granularity: `255.255.255.0` or a prefix length. */
    netmask: z.union([netmask4, range('netmask prefix', 32)], { error: 'netmask must be like 255.255.255.0 or a prefix length 0-32' }).optional(),
    pe: z.enum(['sip'], { error: 'pe must be sip' }).optional(),
    realServers: z.array(realServer).default([]),
    ...serviceHealthShape,
  })
  .strict()
  .superRefine((s, ctx) => {
    refineServiceHealth(s, ctx);
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const persistent = s.persistent !== undefined && s.persistent !== false;
    if (s.protocol === 'fwmark') {
      if (s.fwmark === undefined) bad('fwmark', 'protocol fwmark needs fwmark: N (1-4294967295)');
      if (s.address !== undefined) bad('address', 'not used with protocol fwmark (the mark selects the packets)');
      if (s.port !== undefined) bad('port', 'not used with protocol fwmark');
    } else {
      if (s.fwmark !== undefined) bad('fwmark', 'only with protocol: fwmark');
      if (s.address === undefined) bad('address', `protocol ${s.protocol} needs address`);
      if (s.port === undefined) bad('port', `protocol ${s.protocol} needs port`);
      if (s.port === 0 && !persistent) bad('port', '0 (all ports) needs persistent, as ipvsadm requires');
    }
    if (s.netmask !== undefined && !persistent) bad('netmask', 'needs persistent (it is the persistence granularity)');
    if (s.pe !== undefined && !persistent) bad('pe', 'needs persistent');
    const seen = new Map<string, number>();
    s.realServers.forEach((r, i) => {
      const at = (f: string, message: string) => ctx.addIssue({ code: 'custom', path: ['realServers', i, f], message });
      const key = `${r.address}:${r.port ?? s.port ?? 0}`;
      if (seen.has(key)) at('address', `duplicate real server ${key} (also realServers.${seen.get(key)})`);
      else seen.set(key, i);
      // ipvsadm (process_options) overwrites the real server port with the virtual one for -g/-i
      if (s.protocol !== 'fwmark' && r.forwarding !== 'nat' && r.port !== undefined && r.port !== s.port) {
        at('port', `must equal the virtual port ${s.port} with forwarding ${r.forwarding} (only nat maps ports)`);
      }
    });
  });

const schema = z
  .object({
    services: z.array(service).default([]),
    /** Kernel services no declared service owns: keep silently, report in msg and diff, or purge. */
    policy: z.enum(['keep', 'report', 'purge'], { error: 'policy must be keep, report or purge' }).default('report'),
    /** Write `ipvsadm -Sn` here after a change, as `service ipvsadm save` does. */
    save: z.object({ path: absPath.default('/etc/sysconfig/ipvsadm') }).strict().optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Map<string, number>();
    desiredServices(a).forEach((s, i) => {
      const key = serviceKey(s);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['services', i], message: `duplicate virtual service ${key} (also services.${seen.get(key)})` });
      else seen.set(key, i);
    });
  });

type Args = z.infer<typeof schema>;
interface Observed {
  /** `ipvsadm -Sn` as printed: what the save file must hold. */
  raw: string;
  table: IpvsTable;
  /** The save file's text (null when absent); undefined when no save is asked. */
  saveText?: string | null;
  /** On a director whose agent runs health checks: the table to plan against (docs/HEALTH.md). */
  health?: HealthObserved;
}
type Change = IpvsChange | { kind: 'save'; path: string } | { kind: 'health'; source: string };

/**
 * The table each task's read planned against, for the read-back after `-R`: a health
 * transition between plan and read-back must not make the task fail (the checker applies it
 * itself next). Keyed by the parsed arguments, which the runner hands to read, plan and apply.
 */
const planned = new WeakMap<object, VirtualService[]>();

/** A read of the run's tables (`read`), or of the kernel as it is now (`reread`, after `-R`). */
type ReadTable = KernelState['read'];

/** The declared services in the table's model: defaults filled in, ports as ipvsadm sets them. */
export function desiredServices(args: Pick<Args, 'services'>): VirtualService[] {
  return args.services.map((s) => {
    const persistent = s.persistent === true ? DEFAULT_PERSISTENCE : s.persistent === false ? undefined : s.persistent;
    const mask = typeof s.netmask === 'number' ? prefixToNetmask(s.netmask) : s.netmask;
    const vport = s.protocol === 'fwmark' ? 0 : s.port!;
    return {
      ...(s.protocol === 'fwmark' ? { protocol: 'fwmark', fwmark: s.fwmark } : { protocol: s.protocol, address: s.address, port: s.port }),
      scheduler: s.scheduler,
      ...(persistent !== undefined ? { persistent } : {}),
      ...(persistent !== undefined && mask && mask !== '255.255.255.255' ? { netmask: mask } : {}),
      ...(s.pe ? { pe: s.pe } : {}),
      realServers: s.realServers.map((r) => ({
        address: r.address,
        port: r.port ?? vport,
        forwarding: r.forwarding,
        weight: r.weight,
        ...(r.uThreshold !== undefined ? { uThreshold: r.uThreshold } : {}),
        ...(r.lThreshold !== undefined ? { lThreshold: r.lThreshold } : {}),
      })),
    } as VirtualService;
  });
}

/** The table with the thresholds of the listing on its real servers; a copy, the read is shared. */
function withThresholds(table: IpvsTable, list: ListTable): IpvsTable {
  const listed = new Map(list.services.flatMap((ls) => ls.realServers.map((lr) => [`${ls.key} ${lr.key}`, lr] as const)));
  return {
    services: table.services.map((s) => ({
      ...s,
      realServers: s.realServers.map((r) => {
        const lr = listed.get(`${serviceKey(s)} ${realServerKey(r)}`);
        return lr ? { ...r, uThreshold: lr.uThreshold, lThreshold: lr.lThreshold } : r;
      }),
    })),
  };
}

async function observe(args: Args, ctx: ModuleContext, read: ReadTable = (t) => ctx.kernel.read(t)): Promise<Observed> {
  const { raw, table: kernel } = await read('ipvs');
  let table = kernel;
  if (args.services.some((s) => s.realServers.some((r) => r.uThreshold !== undefined || r.lThreshold !== undefined))) {
    table = withThresholds(kernel, await read('ipvs-thresholds'));
  }
  if (!args.save) return { raw, table };
  return { raw, table, saveText: await readText(hostPath(ctx, args.save.path)) };
}

/** The observed side of the diff: thresholds shown only where declared, like the desired side. */
function asDeclared(have: VirtualService, want: VirtualService | undefined): VirtualService {
  const declared = new Map((want?.realServers ?? []).map((r) => [realServerKey(r), r]));
  return {
    ...have,
    realServers: have.realServers.map(({ uThreshold, lThreshold, ...r }) => {
      const w = declared.get(realServerKey(r));
      return { ...r, ...(w?.uThreshold !== undefined ? { uThreshold } : {}), ...(w?.lThreshold !== undefined ? { lThreshold } : {}) };
    }),
  };
}

function text(services: VirtualService[]): string {
  return services.length ? renderTable(services) : '# no virtual services\n';
}

export default defineModule<Args, Observed, Change>({
  name: 'ipvs',
  summary: 'IPVS virtual services and real servers, reconciled in place with one ipvsadm -R batch',
  schema,
  async read(args, ctx) {
    const cur = await observe(args, ctx);
    if (!ctx.health) return cur;
    const source = healthSource(ctx.task);
    const adjusted = ctx.health.preview(args);
    planned.set(args, adjusted.services);
    return { ...cur, health: { ...adjusted, source, configured: ctx.health.holds(source, args) } };
  },
  touches: ['ipvs', 'ipvs-thresholds'],
  plan(args, cur) {
    // With a checker, the declaration adjusted by health is the desired state: an inhibited
    // server is not drift, a server deleted by hand still is.
    const desired = cur.health?.services ?? desiredServices(args);
    const { changes, foreign } = reconcile(desired, cur.table, args.policy);
    const wantByKey = new Map(desired.map((s) => [serviceKey(s), s]));
    const inScope = cur.table.services.filter((s) => wantByKey.has(serviceKey(s)));
    let before = text([...inScope.map((s) => asDeclared(s, wantByKey.get(serviceKey(s)))), ...(args.policy === 'keep' ? [] : foreign)]);
    let after = text([...desired, ...(args.policy === 'report' ? foreign : [])]);
    const all: Change[] = [...changes];
    if (cur.health) {
      const labels = healthLabels(cur.health.notes);
      before += labels;
      after += labels;
      if (!cur.health.configured) {
        before += '# health checks: not running this declaration\n';
        after += '# health checks: running this declaration\n';
        all.push({ kind: 'health', source: cur.health.source });
      }
    }
    if (args.save) {
      const state = cur.saveText === null ? '(absent)' : cur.saveText === cur.raw ? 'same as ipvsadm -Sn' : 'differs from ipvsadm -Sn';
      before += `# ${args.save.path}: ${state}\n`;
      after += `# ${args.save.path}: same as ipvsadm -Sn\n`;
      if (changes.length || cur.saveText !== cur.raw) all.push({ kind: 'save', path: args.save.path });
    }
    const notes = [
      args.policy === 'report' && foreign.length ? `${foreign.length} virtual service(s) not declared, left in place: ${foreign.map(serviceKey).join(', ')}` : '',
      cur.health ? healthSummary(cur.health.notes) : '',
    ].filter(Boolean);
    const msg = notes.length ? notes.join('; ') : undefined;
    return { changes: all, before, after, ...(msg ? { msg } : {}) };
  },
  describe: describeIpvs,
  async apply(args, changes, ctx) {
    const kernel = changes.filter((c): c is IpvsChange => c.kind !== 'save' && c.kind !== 'health');
    const desired = planned.get(args) ?? desiredServices(args);
    let raw: string | undefined;
    if (kernel.length) {
      const r = await ctx.exec('ipvsadm', ['-R'], { input: batchText(kernel) });
      // restore_table keeps going after a failed line and exits with the last line's status only,
      // so the table is read back and whatever still differs is the error.
      const now = await observe({ ...args, save: undefined }, ctx, (t) => ctx.kernel.reread(t));
      raw = now.raw;
      const left = reconcile(desired, now.table, args.policy).changes;
      if (r.code !== 0 || left.length) {
        const err = r.stderr.trim().split('\n').filter(Boolean).join(' | ');
        const todo = left.length ? `; still differs: ${left.map(changeLine).join(' | ')}` : '';
        throw new Error(`ipvsadm -R: exit ${r.code}${err ? `: ${err}` : ''}${todo}`);
      }
    }
    if (args.save && changes.some((c) => c.kind === 'save')) {
      await writeAtomic(hostPath(ctx, args.save.path), raw ?? (await ctx.kernel.read('ipvs')).raw);
    }
    if (ctx.health && !ctx.check) ctx.health.configure(healthSource(ctx.task), args, ctx.task);
  },
});

/** A virtual service as a task declares it, for readers outside the agent (the cluster check). */
export interface DeclaredService {
  /** `tcp:172.25.7.200:80`, `fwm:1`: the same key the reconciler uses. */
  key: string;
  protocol: VirtualService['protocol'];
  address?: string;
  port?: number;
  realServers: { address: string; port: number; forwarding: VirtualService['realServers'][number]['forwarding'] }[];
}

/**
 * The virtual services an ipvs task declares, with the schema's defaults (protocol, forwarding,
 * ports) filled in exactly as this module applies them.
 */
export function declaredServices(args: Args): DeclaredService[] {
  return desiredServices(args).map((s) => ({
    key: serviceKey(s),
    protocol: s.protocol,
    ...(s.address !== undefined ? { address: s.address } : {}),
    ...(s.port !== undefined ? { port: s.port } : {}),
    realServers: s.realServers.map((r) => ({ address: r.address, port: r.port, forwarding: r.forwarding })),
  }));
}

export type IpvsArgs = Args;
