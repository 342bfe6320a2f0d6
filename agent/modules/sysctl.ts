import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, hostPath, type Plan } from '../module.js';
import { absPath, sysctlKey } from '../validate.js';
import { readText, writeAtomic } from '../fsutil.js';
import { removeLines, setLine } from '../lines.js';

const schema = z
  .object({
    name: sysctlKey,
    value: z.union([z.string(), z.number()]).transform((v) => String(v).trim()),
    /** Also write `name = value` to the sysctl file so it holds after a reboot. */
    persist: z.boolean().default(true),
    /** `absent` removes the persisted line and leaves the runtime value alone. */
    state: z.enum(['present', 'absent']).default('present'),
    file: absPath.default('/etc/sysctl.conf'),
  })
  .strict()
  .refine((a) => !/[\n\0=]/.test(a.value), { message: 'must be one line without =', path: ['value'] });

type Args = z.infer<typeof schema>;
interface Observed {
  runtime: string | null;
  persisted: string | null;
  fileText: string | null;
  /** Check mode: a per-device key of a device an earlier task of the run would create. */
  pendingDevice?: string;
}
type Change = { kind: 'runtime'; value: string } | { kind: 'persist'; text: string };

/**
 * The /proc/sys file of a key, read as sysctl(8) and systemd-sysctl read it: when the first
 * separator is a dot, dots separate and a slash stands for a dot inside a name
 * (`net.ipv4.conf.eth0/100.rp_filter`, as `sysctl -a` prints it); when it is a slash, slashes
 * separate and dots are literal (`net/ipv4/conf/eth0.100/rp_filter`).
 */
export function procPath(key: string): string {
  const first = key.search(/[./]/);
  const slashForm = first >= 0 && key[first] === '/';
  return '/proc/sys/' + (slashForm ? key : key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')));
}

/** Both spellings name the same key; sysctl.conf files use either. */
function sameKey(a: string, b: string): boolean {
  return procPath(a) === procPath(b);
}

/** Multi-value keys are tab-separated in /proc and space-separated in files. */
export function normalize(v: string): string {
  return v.trim().split(/\s+/).join(' ');
}

export function persistedValue(text: string | null, key: string): string | null {
  let val: string | null = null;
  for (const line of (text ?? '').split('\n')) {
    const m = line.match(/^\s*-?\s*([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/);
    if (m && sameKey(m[1], key)) val = normalize(m[2]);
  }
  return val;
}

function isKeyLine(key: string) {
  return (l: string) => {
    const m = l.match(/^\s*-?\s*([^#;=\s][^=]*?)\s*=/);
    return !!m && sameKey(m[1], key);
  };
}

export default defineModule<Args, Observed, Change>({
  name: 'sysctl',
  summary: 'a kernel parameter at runtime (/proc/sys) and persisted in /etc/sysctl.conf',
  schema,
  async read(args, ctx) {
    let runtime: string | null = null;
    try {
      runtime = normalize(await fs.readFile(procPath(args.name), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const fileText = await readText(hostPath(ctx, args.file));
    const dev = runtime === null ? procPath(args.name).match(/^\/proc\/sys\/net\/ipv[46]\/(?:conf|neigh)\/([^/]+)\//)?.[1] : undefined;
    const pendingDevice = dev && ctx.kernel.promised(`link:${dev}`) ? dev : undefined;
    return { runtime, persisted: persistedValue(fileText, args.name), fileText, ...(pendingDevice ? { pendingDevice } : {}) };
  },
  plan(args, cur) {
    const want = normalize(args.value);
    const show = (rt: string | null, ps: string | null) =>
      `runtime: ${args.name} = ${rt ?? '(no such key)'}\n${args.file}: ${ps === null ? '(not set)' : `${args.name} = ${ps}`}\n`;
    const before = show(cur.runtime, cur.persisted);
    const changes: Change[] = [];
    if (args.state === 'absent') {
      if (cur.persisted !== null) changes.push({ kind: 'persist', text: removeLines(cur.fileText, isKeyLine(args.name)) });
      return { changes, before, after: show(cur.runtime, null) };
    }
    if (cur.runtime === null && cur.pendingDevice) {
      changes.push({ kind: 'runtime', value: want });
      if (args.persist && cur.persisted !== want) changes.push({ kind: 'persist', text: setLine(cur.fileText, isKeyLine(args.name), `${args.name} = ${want}`) });
      return { changes, before: show(`(${cur.pendingDevice} not created yet)`, cur.persisted), after: show(want, args.persist ? want : cur.persisted) };
    }
    if (cur.runtime === null) {
      throw new Error(
        `${args.name}: no such kernel parameter (${procPath(args.name)} does not exist; a device name with a dot is written net/ipv4/conf/eth0.100/rp_filter)`,
      );
    }
    if (cur.runtime !== want) changes.push({ kind: 'runtime', value: want });
    const dupes = (cur.fileText ?? '').split('\n').filter(isKeyLine(args.name)).length > 1;
    if (args.persist && (cur.persisted !== want || dupes)) {
      changes.push({ kind: 'persist', text: setLine(cur.fileText, isKeyLine(args.name), `${args.name} = ${want}`) });
    }
    return { changes, before, after: show(want, args.persist ? want : cur.persisted) };
  },
  /** Retiring a sysctl drops its persisted line; the running value stays until the next boot. */
  owns(args) {
    if (args.state === 'absent' || !args.persist) return undefined;
    return { id: `sysctl:${args.file}:${args.name}`, retire: { name: args.name, value: args.value, state: 'absent', file: args.file } };
  },
  // /proc/sys is read per task, not through a table.
  touches: [],
  describe: describeSysctl,
  timeoutMs: 60_000,
  async apply(args, changes, ctx) {
    for (const c of changes) {
      if (c.kind === 'runtime') await fs.writeFile(procPath(args.name), c.value + '\n');
      else await writeAtomic(hostPath(ctx, args.file), c.text);
    }
  },
});

/** Drift findings: the running value and the persisted line, each its own field. */
export function describeSysctl(args: Args, cur: Observed, plan: Plan<Change>): FieldDrift[] {
  const want = normalize(args.value);
  return plan.changes.map((c): FieldDrift => {
    if (c.kind === 'runtime') {
      const have = cur.runtime ?? (cur.pendingDevice ? null : '(no such key)');
      const text = have === null ? `${args.name} does not exist yet (${cur.pendingDevice} missing), want ${want}` : `${args.name} is ${have}, want ${want}`;
      return { field: args.name, before: have, after: want, text };
    }
    const field = `${args.name} in ${args.file}`;
    if (args.state === 'absent') {
      return { field, before: cur.persisted, after: null, text: `${args.name} = ${cur.persisted} persisted in ${args.file}, want it removed` };
    }
    const text =
      cur.persisted === null
        ? `${args.name} not persisted in ${args.file}, want ${want}`
        : cur.persisted === want
          ? `${args.name} set more than once in ${args.file}, want one line`
          : `${args.name} is ${cur.persisted} in ${args.file}, want ${want}`;
    return { field, before: cur.persisted, after: want, text };
  });
}
