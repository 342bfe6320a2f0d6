import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { FieldDrift } from '../../common/findings.js';
import { defineModule, hostPath } from '../module.js';
import { absPath, mode } from '../validate.js';
import { octal, parseMode, readText, statMode, writeAtomic } from '../fsutil.js';

const schema = z
  .object({
    path: absPath,
    state: z.enum(['file', 'absent']).default('file'),
    content: z.string().optional(),
    mode: mode.optional(),
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.content !== undefined || a.mode !== undefined, {
    message: 'state=file needs content or mode',
    path: ['content'],
  });

type Args = z.infer<typeof schema>;
interface Observed {
  content: string | null;
  mode: number | null;
}
type Change = { kind: 'write'; content: string; mode?: number } | { kind: 'chmod'; mode: number } | { kind: 'remove' };

export default defineModule<Args, Observed, Change>({
  name: 'file',
  summary: 'a file with given content and mode, or absent',
  schema,
  async read(args, ctx) {
    const p = hostPath(ctx, args.path);
    return { content: await readText(p), mode: await statMode(p) };
  },
  plan(args, cur) {
    const before = describe(cur.content, cur.mode);
    if (args.state === 'absent') {
      return cur.content === null
        ? { changes: [], before, after: before }
        : { changes: [{ kind: 'remove' }], before, after: describe(null, null) };
    }
    const wantMode = args.mode !== undefined ? parseMode(args.mode) : undefined;
    const changes: Change[] = [];
    const wantContent = args.content ?? cur.content ?? '';
    if (cur.content === null || (args.content !== undefined && cur.content !== args.content)) {
      changes.push({ kind: 'write', content: wantContent, ...(wantMode !== undefined ? { mode: wantMode } : {}) });
    } else if (wantMode !== undefined && cur.mode !== wantMode) {
      changes.push({ kind: 'chmod', mode: wantMode });
    }
    const afterMode = wantMode ?? cur.mode ?? 0o644;
    return { changes, before, after: describe(wantContent, afterMode) };
  },
  owns(args) {
    return args.state === 'absent' ? undefined : { id: `file:${args.path}`, retire: { path: args.path, state: 'absent' } };
  },
  touches: [],
  describe(args, cur, plan) {
    return describeFile(args.path, cur, plan.changes);
  },
  // Local files and one or two short commands: a task this slow is stuck, not busy.
  timeoutMs: 60_000,
  async apply(args, changes, ctx) {
    const p = hostPath(ctx, args.path);
    for (const c of changes) {
      if (c.kind === 'remove') await fs.rm(p, { force: true });
      else if (c.kind === 'write') await writeAtomic(p, c.content, c.mode);
      else await fs.chmod(p, c.mode);
    }
  },
});

function describe(content: string | null, mode: number | null): string {
  if (content === null) return '(absent)\n';
  return `mode ${octal(mode)}\n${content}`;
}

export type FileObserved = Observed;
export type FileChange = Change;

/**
 * A file's content named by size and digest, never quoted: findings are stored and shown on
 * the health page, and a file may hold a secret.
 */
export function contentId(content: string): string {
  return `${Buffer.byteLength(content)} bytes, sha256 ${createHash('sha256').update(content).digest('hex').slice(0, 12)}`;
}

/** Drift findings of a file (content, mode, presence); kernel_module reuses it for its boot file. */
export function describeFile(path: string, cur: Observed, changes: readonly Change[]): FieldDrift[] {
  return changes.flatMap((c): FieldDrift[] => {
    if (c.kind === 'remove') return [{ field: path, before: 'present', after: null, text: `${path} present, want it absent` }];
    if (c.kind === 'chmod') return [{ field: `${path} mode`, before: octal(cur.mode), after: octal(c.mode), text: `${path} mode is ${octal(cur.mode)}, want ${octal(c.mode)}` }];
    if (cur.content === null) return [{ field: path, before: null, after: contentId(c.content), text: `${path} missing` }];
    const out: FieldDrift[] = [];
    if (cur.content !== c.content) out.push({ field: `${path} content`, before: contentId(cur.content), after: contentId(c.content), text: `${path} content differs` });
    if (c.mode !== undefined && c.mode !== cur.mode) out.push({ field: `${path} mode`, before: octal(cur.mode), after: octal(c.mode), text: `${path} mode is ${octal(cur.mode)}, want ${octal(c.mode)}` });
    return out;
  });
}
