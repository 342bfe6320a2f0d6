import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import { defineModule, hostPath } from '../module.js';
import { unitName } from '../validate.js';
import { readText } from '../fsutil.js';
import type { NetfilterTable } from '../kstate/iptables.js';
import { currentValue } from './keyvalue.js';
import { applyService, planService, readService } from './service.js';
import { pickServiceProvider, type ServiceChange, type ServiceObserved, type ServiceWant } from '../providers/service-provider.js';

const schema = z
  .object({
    /** `off`: flush every rule, delete user chains, ACCEPT policies, stop and disable the service. */
    state: z.enum(['off', 'on']),
    /** The firewall service: `iptables` on SysV hosts, `firewalld` on systemd hosts when left out. */
    service: unitName.optional(),
    provider: z.enum(['systemd', 'sysv']).optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

interface Observed {
  /** null when iptables-save is not installed. */
  tables: readonly NetfilterTable[] | null;
  warnings: string[];
  /** null when the host has no init system to ask. */
  service: ServiceObserved | null;
  serviceName: string | null;
  /** RHEL 6's iptables script unloads netfilter modules on stop (IPTABLES_MODULES_UNLOAD=yes). */
  stopUnloads: boolean;
}

type Change =
  | { kind: 'service'; change: ServiceChange }
  | { kind: 'reload-tables'; tables: string[] }
  | { kind: 'flush'; table: string; rules: number }
  | { kind: 'delete-chains'; table: string; chains: string[] }
  | { kind: 'policy'; table: string; chain: string };

function rulesText(tables: readonly NetfilterTable[] | null): string {
  if (tables === null) return 'iptables: not installed\n';
  if (!tables.length) return 'iptables: no tables loaded\n';
  return tables.map((t) => [`*${t.name}`, ...t.chains.map((c) => `:${c.name} ${c.policy ?? '-'}`), ...t.rules, ''].join('\n')).join('');
}

/** What is left after the flush: built-in chains only, all ACCEPT, no rules. Tables stay loaded. */
function flushed(tables: readonly NetfilterTable[]): NetfilterTable[] {
  return tables.map((t) => ({ name: t.name, rules: [], chains: t.chains.filter((c) => c.policy !== null).map((c) => ({ ...c, policy: 'ACCEPT' })) }));
}

function serviceWant(args: Args, name: string): ServiceWant {
  const on = args.state === 'on';
  return { name, state: on ? 'running' : 'stopped', enabled: on, ...(args.provider ? { provider: args.provider } : {}) };
}

export default defineModule<Args, Observed, Change>({
  name: 'firewall',
  summary: 'the host firewall off (all iptables rules flushed, service stopped and disabled) or on',
  schema,
  async read(args, ctx) {
    const provider = pickServiceProvider(ctx.facts, args.provider);
    const serviceName = provider ? (args.service ?? (provider === 'systemd' ? 'firewalld' : 'iptables')) : null;
    const service = serviceName ? await readService(serviceWant(args, serviceName), ctx) : null;
    const parsed = args.state === 'off' ? await ctx.kernel.read('iptables') : null;
    let stopUnloads = false;
    if (args.state === 'off' && service?.exists && service.provider === 'sysv' && serviceName === 'iptables') {
      const conf = await readText(hostPath(ctx, '/etc/sysconfig/iptables-config'));
      stopUnloads = (currentValue(conf, 'IPTABLES_MODULES_UNLOAD') ?? 'yes') !== 'no';
    }
    return { tables: parsed?.tables ?? null, warnings: parsed?.warnings ?? [], service, serviceName, stopUnloads };
  },
  plan(args, cur) {
    const notes: string[] = [...cur.warnings];
    const changes: Change[] = [];
    let before = '';
    let after = '';
    if (!cur.service || !cur.service.exists) {
      const why = cur.service ? `service ${cur.serviceName} not found on this host` : 'no init system known on this host';
      if (args.state === 'on') throw new Error(`firewall on: ${why}`);
      notes.push(`${why}: service part skipped`);
    } else {
      const svc = planService(serviceWant(args, cur.serviceName!), cur.service);
      changes.push(...svc.changes.map((change): Change => ({ kind: 'service', change })));
      before += svc.before;
      after += svc.after;
      if (svc.msg) notes.push(svc.msg);
    }
    if (args.state === 'on') return { changes, before, after, ...(notes.length ? { msg: notes.join('; ') } : {}) };

    const tables = cur.tables ?? [];
    if (cur.stopUnloads && changes.some((c) => c.kind === 'service' && c.change.kind === 'stop') && tables.length) {
      // LVS NAT needs iptable_nat loaded; listing a table makes the kernel load its module again.
      changes.push({ kind: 'reload-tables', tables: tables.map((t) => t.name) });
      notes.push(`stopping iptables unloads netfilter modules (IPTABLES_MODULES_UNLOAD); ${tables.map((t) => t.name).join(', ')} listed again afterwards so they stay loaded`);
    }
    let rules = 0;
    for (const t of tables) {
      if (t.rules.length) changes.push({ kind: 'flush', table: t.name, rules: t.rules.length });
      rules += t.rules.length;
      const user = t.chains.filter((c) => c.policy === null).map((c) => c.name);
      if (user.length) changes.push({ kind: 'delete-chains', table: t.name, chains: user });
      for (const c of t.chains) if (c.policy !== null && c.policy !== 'ACCEPT') changes.push({ kind: 'policy', table: t.name, chain: c.name });
    }
    if (rules) notes.push(`flushes ${rules} iptables rule${rules === 1 ? '' : 's'}`);
    if (cur.tables === null) notes.push('iptables not installed: no rules to flush');
    before += rulesText(cur.tables);
    after += rulesText(cur.tables && flushed(cur.tables));
    return { changes, before, after, ...(notes.length ? { msg: notes.join('; ') } : {}) };
  },
  async apply(_args, changes, ctx) {
    for (const c of changes) {
      if (c.kind === 'service') await applyService([c.change], ctx);
      else if (c.kind === 'reload-tables') for (const t of c.tables) await execOk(ctx.exec, 'iptables', ['-t', t, '-n', '-L']);
      else if (c.kind === 'flush') await execOk(ctx.exec, 'iptables', ['-t', c.table, '-F']);
      else if (c.kind === 'delete-chains') await execOk(ctx.exec, 'iptables', ['-t', c.table, '-X']);
      else await execOk(ctx.exec, 'iptables', ['-t', c.table, '-P', c.chain, 'ACCEPT']);
    }
  },
  // Stopping RHEL 6's iptables service unloads netfilter modules; listing a table loads them.
  touches: ['iptables', 'modules'],
  slowCheck: true,
});
