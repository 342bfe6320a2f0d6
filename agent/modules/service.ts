import { z } from 'zod';
import { ALL_TABLES } from '../kstate/tables.js';
import { defineModule, type ModuleContext, type Plan } from '../module.js';
import { unitName } from '../validate.js';
import {
  pickServiceProvider,
  type ServiceChange,
  type ServiceObserved,
  type ServiceProvider,
  type ServiceProviderName,
  type ServiceWant,
} from '../providers/service-provider.js';
import { systemdProvider } from '../providers/service-systemd.js';
import { rcLinkEdit, sysvProvider } from '../providers/service-sysv.js';

const schema = z
  .object({
    name: unitName,
    state: z.enum(['running', 'stopped']).optional(),
    enabled: z.boolean().optional(),
    provider: z.enum(['systemd', 'sysv']).optional(),
  })
  .strict()
  .refine((a) => a.state !== undefined || a.enabled !== undefined, { message: 'give state or enabled (or both)', path: ['state'] });

type Args = z.infer<typeof schema>;

const PROVIDERS: Record<ServiceProviderName, ServiceProvider> = { systemd: systemdProvider, sysv: sysvProvider };

/** The provider for a task, or an error naming what to set when the host has no init system. */
export function serviceProvider(ctx: ModuleContext, override?: ServiceProviderName): ServiceProvider {
  const name = pickServiceProvider(ctx.facts, override);
  if (!name) throw new Error('no init system known on this host (facts.initSystem is none); set provider: systemd or sysv');
  return PROVIDERS[name];
}

/** Reads only what `want` asks about (one or two commands). Shared with the firewall module. */
export async function readService(want: ServiceWant, ctx: ModuleContext): Promise<ServiceObserved> {
  return serviceProvider(ctx, want.provider).read(want, ctx);
}

function describe(name: string, running: string | undefined, enabled: string | undefined): string {
  return (running !== undefined ? `${name}: ${running}\n` : '') + (enabled !== undefined ? `${name} at boot: ${enabled}\n` : '');
}

/** The start/stop and enable/disable steps that take `cur` to `want`; pure. */
export function planService(want: ServiceWant, cur: ServiceObserved): Plan<ServiceChange> {
  if (!cur.exists) throw new Error(`service ${want.name} not found (${cur.provider === 'systemd' ? 'no such unit' : 'no init script'})`);
  const { provider, name } = cur;
  const changes: ServiceChange[] = [];
  const notes: string[] = [];
  if (cur.enabled === 'masked' && (want.enabled || want.state === 'running')) {
    throw new Error(`${name} is masked; it cannot be ${want.enabled ? 'enabled' : 'started'} until unmasked`);
  }
  if (want.state !== undefined && cur.running !== (want.state === 'running')) {
    changes.push({ kind: want.state === 'running' ? 'start' : 'stop', provider, name });
  }
  let enabledAfter = cur.enabledText;
  if (want.enabled !== undefined) {
    if (cur.enabled === 'fixed') {
      notes.push(`${name} is ${cur.enabledText}: enable/disable does not apply, left as is`);
    } else if (want.enabled ? cur.enabled !== 'on' : cur.enabled !== 'off' && cur.enabled !== 'masked') {
      const links = cur.rc ? rcLinkEdit(cur.rc, name, want.enabled) : undefined;
      changes.push({
        kind: want.enabled ? 'enable' : 'disable',
        provider,
        name,
        ...(links ? { links } : {}),
        ...(cur.notAdded && want.enabled ? { add: true } : {}),
      });
      enabledAfter = want.enabled ? 'enabled' : 'disabled';
      if (links) {
        enabledAfter +=
          '\n' +
          [...links.remove.map((l) => `  - rc${l.level}.d/${l.name}`), ...links.add.map((l) => `  + rc${l.level}.d/${l.name} -> ${links.target}`)].join('\n');
      }
    }
  }
  const before = describe(name, want.state !== undefined ? cur.runningText : undefined, want.enabled !== undefined ? cur.enabledText : undefined);
  const after = describe(name, want.state, want.enabled !== undefined ? enabledAfter : undefined);
  return { changes, before, after, ...(notes.length ? { msg: notes.join('; ') } : {}) };
}

export async function applyService(changes: ServiceChange[], ctx: ModuleContext): Promise<void> {
  for (const c of changes) await PROVIDERS[c.provider].apply(c, ctx);
}

export default defineModule<Args, ServiceObserved, ServiceChange>({
  name: 'service',
  summary: 'a service running or stopped, and enabled or not at boot (systemd or SysV init)',
  schema,
  read: (args, ctx) => readService(args, ctx),
  plan: (args, cur) => planService(args, cur),
  // Init scripts restore kernel state: ipvsadm its rules, iptables its tables, network its addresses.
  touches: ALL_TABLES,
  slowCheck: true,
  apply: (_args, changes, ctx) => applyService(changes, ctx),
});
