import { z } from 'zod';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, hostPath, type Plan } from '../module.js';
import { absPath } from '../validate.js';
import { readText, writeAtomic } from '../fsutil.js';
import { removeLines, setLine } from '../lines.js';

const schema = z
  .object({
    path: absPath,
    key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name like GATEWAY'),
    value: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.value !== undefined, { message: 'state=present needs value', path: ['value'] })
  .refine((a) => a.value === undefined || !/[\n\0]/.test(a.value), { message: 'must be one line', path: ['value'] });

type Args = z.infer<typeof schema>;
interface Observed {
  text: string | null;
}
type Change = { kind: 'write'; text: string };

/** Quotes a value only when a shell would need it, as RHEL's own sysconfig files do. */
export function renderValue(v: string): string {
  return /^[A-Za-z0-9_./:@%+,-]*$/.test(v) && v !== '' ? v : `"${v.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** The value a shell would read for `KEY=...` (last assignment wins), or null when unset. */
export function currentValue(text: string | null, key: string): string | null {
  let val: string | null = null;
  for (const line of (text ?? '').split('\n')) {
    const m = line.match(new RegExp(`^\\s*(?:export\\s+)?${key}=(.*)$`));
    if (!m) continue;
    let v = m[1].trim();
    if (/^"(.*)"$/.test(v)) v = v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    else if (/^'(.*)'$/.test(v)) v = v.slice(1, -1);
    val = v;
  }
  return val;
}

export default defineModule<Args, Observed, Change>({
  name: 'keyvalue',
  summary: 'one KEY=value line in a shell-style file such as /etc/sysconfig/network',
  schema,
  async read(args, ctx) {
    return { text: await readText(hostPath(ctx, args.path)) };
  },
  plan(args, cur) {
    const isKey = (l: string) => new RegExp(`^\\s*(?:export\\s+)?${args.key}=`).test(l);
    const have = currentValue(cur.text, args.key);
    const before = `${args.key}=${have === null ? '(unset)' : renderValue(have)}\n`;
    if (args.state === 'absent') {
      if (have === null) return { changes: [], before, after: before };
      return { changes: [{ kind: 'write', text: removeLines(cur.text, isKey) }], before, after: `${args.key}=(unset)\n` };
    }
    const want = args.value!;
    const after = `${args.key}=${renderValue(want)}\n`;
    const lines = (cur.text ?? '').split('\n').filter(isKey).length;
    if (have === want && lines === 1) return { changes: [], before, after };
    return { changes: [{ kind: 'write', text: setLine(cur.text, isKey, `${args.key}=${renderValue(want)}`) }], before, after };
  },
  owns(args) {
    return args.state === 'absent' ? undefined : { id: `keyvalue:${args.path}:${args.key}`, retire: { path: args.path, key: args.key, state: 'absent' } };
  },
  touches: [],
  describe: describeKeyValue,
  timeoutMs: 60_000,
  async apply(args, changes, ctx) {
    for (const c of changes) await writeAtomic(hostPath(ctx, args.path), c.text);
  },
});

/** Drift finding: the one KEY=value line (unset, another value, set more than once, or present). */
export function describeKeyValue(args: Args, cur: Observed, plan: Plan<Change>): FieldDrift[] {
  if (!plan.changes.length) return [];
  const field = `${args.key} in ${args.path}`;
  const have = currentValue(cur.text, args.key);
  if (args.state === 'absent') return [{ field, before: have, after: null, text: `${args.key}=${have} set in ${args.path}, want it unset` }];
  const want = args.value!;
  const text =
    have === null ? `${args.key} not set in ${args.path}, want ${want}` : have === want ? `${args.key} set more than once in ${args.path}, want one line` : `${args.key} is ${have} in ${args.path}, want ${want}`;
  return [{ field, before: have, after: want, text }];
}
