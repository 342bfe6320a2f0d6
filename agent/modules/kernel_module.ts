import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import type { HostFacts } from '../../common/protocol.js';
import { readText } from '../fsutil.js';
import { moduleKey } from '../kstate/proc-modules.js';
import { ALL_TABLES } from '../kstate/tables.js';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, type ModuleContext, type Plan } from '../module.js';
import file, { describeFile } from './file.js';

const schema = z
  .object({
    /** MODULE_NAME_LEN is 56 with the NUL; `-` and `_` are the same to the kernel. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,54}$/, 'must be a kernel module name like ip_vs or iptable_nat'),
    state: z.enum(['present', 'absent']).default('present'),
    /** Also load it at every boot (modules-load.d on systemd, sysconfig/modules on SysV). */
    boot: z.boolean().default(true),
  })
  .strict();

type Args = z.output<typeof schema>;
type FileArgs = Parameters<typeof file.plan>[0];
type FileObserved = Parameters<typeof file.plan>[1];
type FileChange = Parameters<typeof file.apply>[1][number];

/** What the kernel says: loaded as a module, built in (cannot be unloaded), or neither. */
export type LoadState = 'loaded' | 'builtin' | 'absent';

interface Observed {
  load: LoadState;
  /** The boot file for this init system; null when the host has none we know. */
  boot: { path: string; content: string; mode: string } | null;
  file: FileObserved;
}
type Change = { kind: 'load' } | { kind: 'unload' } | { kind: 'file'; path: string; change: FileChange };

/** `kernel/net/ipv4/ipip.ko` lines of modules.builtin, as module keys. */
export function parseBuiltin(text: string | null): Set<string> {
  return new Set(
    (text ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => moduleKey(l.slice(l.lastIndexOf('/') + 1).replace(/\.ko(\.[a-z]+)?$/, ''))),
  );
}

async function isBuiltin(key: string, kernel: string): Promise<boolean> {
  // /sys/module lists built-ins that have parameters; modules.builtin lists all of them.
  const sys = await fs.stat(`/sys/module/${key}`).then(
    () => true,
    () => false,
  );
  if (sys) return true;
  return parseBuiltin(await readText(`/lib/modules/${kernel}/modules.builtin`)).has(key);
}

export async function loadState(name: string, ctx: Pick<ModuleContext, 'kernel' | 'facts'>): Promise<LoadState> {
  const key = moduleKey(name);
  if ((await ctx.kernel.read('modules')).has(key)) return 'loaded';
  return (await isBuiltin(key, ctx.facts.os.kernel)) ? 'builtin' : 'absent';
}

/** Loads a module now; a caller's `touches` must name what it creates (ipip: tunl0). */
export async function loadModule(name: string, ctx: Pick<ModuleContext, 'exec'>): Promise<void> {
  await execOk(ctx.exec, 'modprobe', [name]);
}

/**
 * systemd-modules-load reads /etc/modules-load.d/*.conf, and so does Debian's SysV kmod init
 * script; RHEL 6's rc.sysinit runs every executable /etc/sysconfig/modules/*.modules script.
 */
export function bootFile(facts: HostFacts, name: string): Observed['boot'] {
  if (facts.initSystem === 'systemd' || facts.os.family === 'debian') return { path: `/etc/modules-load.d/${name}.conf`, content: `${name}\n`, mode: '0644' };
  if (facts.initSystem === 'sysv' && facts.os.family === 'redhat') {
    return { path: `/etc/sysconfig/modules/${name}.modules`, content: `#!/bin/sh\nexec /sbin/modprobe ${name}\n`, mode: '0755' };
  }
  return null;
}

function fileArgs(boot: NonNullable<Observed['boot']>, present: boolean): FileArgs {
  return file.schema.parse(present ? { path: boot.path, content: boot.content, mode: boot.mode } : { path: boot.path, state: 'absent' });
}

export default defineModule<Args, Observed, Change>({
  name: 'kernel_module',
  summary: 'a kernel module loaded now (modprobe) and at boot (modules-load.d or sysconfig/modules)',
  schema,
  async read(args, ctx) {
    const boot = bootFile(ctx.facts, args.name);
    const f = boot ? await file.read(fileArgs(boot, false), ctx) : { content: null, mode: null };
    return { load: await loadState(args.name, ctx), boot, file: f };
  },
  plan(args, cur, ctx) {
    const present = args.state === 'present';
    const changes: Change[] = [];
    if (present && cur.load === 'absent') changes.push({ kind: 'load' });
    if (!present && cur.load === 'builtin') throw new Error(`${args.name} is built into the kernel and cannot be unloaded`);
    if (!present && cur.load === 'loaded') changes.push({ kind: 'unload' });
    if (cur.load === 'builtin') {
      const text = `${args.name}: builtin\n`;
      return { changes, before: text, after: text, msg: `${args.name} is built into the kernel: always loaded, no boot file needed` };
    }
    const wantBoot = present && args.boot;
    if (!cur.boot && wantBoot) {
      throw new Error(`no known way to load modules at boot with init system '${ctx.facts.initSystem}' on ${ctx.facts.os.family}: set boot: false`);
    }
    const loadAfter: LoadState = present ? 'loaded' : 'absent';
    let before = `${args.name}: ${cur.load}\n`;
    let after = `${args.name}: ${loadAfter}\n`;
    if (cur.boot) {
      const boot = cur.boot;
      const fp = file.plan(fileArgs(boot, wantBoot), cur.file, ctx);
      changes.push(...fp.changes.map((change): Change => ({ kind: 'file', path: boot.path, change })));
      before += `${boot.path}: ${fp.before}`;
      after += `${boot.path}: ${fp.after}`;
    }
    return { changes, before, after };
  },
  describe: describeKernelModule,
  async apply(args, changes, ctx) {
    for (const c of changes) {
      if (c.kind === 'load') await loadModule(args.name, ctx);
      else if (c.kind === 'unload') await execOk(ctx.exec, 'modprobe', ['-r', args.name]);
      else {
        const present = c.change.kind !== 'remove';
        const boot = bootFile(ctx.facts, args.name)!;
        await file.apply(fileArgs(boot, present), [c.change], ctx);
      }
    }
  },
  // A module brings or takes away devices (ipip: tunl0), IPVS (ip_vs) or netfilter tables.
  touches: ALL_TABLES,
});

/** Drift findings: loaded now (a field of its own) and the boot file, as the file module words them. */
export function describeKernelModule(args: Args, cur: Observed, plan: Plan<Change>): FieldDrift[] {
  const out: FieldDrift[] = [];
  for (const c of plan.changes) {
    if (c.kind === 'load') out.push({ field: `module ${args.name}`, before: cur.load, after: 'loaded', text: `kernel module ${args.name} not loaded` });
    else if (c.kind === 'unload') out.push({ field: `module ${args.name}`, before: cur.load, after: 'absent', text: `kernel module ${args.name} loaded, want it unloaded` });
    else out.push(...describeFile(c.path, cur.file, [c.change]));
  }
  return out;
}
