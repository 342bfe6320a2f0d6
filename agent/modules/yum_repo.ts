import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defineModule, hostPath } from '../module.js';
import { absPath, repoId, repoUrl } from '../validate.js';
import { readText, withNewline, writeAtomic } from '../fsutil.js';
import { splitLines } from '../lines.js';

const flag = z.union([z.boolean(), z.literal(0), z.literal(1)]).transform((v) => v === true || v === 1);
const urls = z.union([repoUrl, z.array(repoUrl).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));
const oneLine = z.string().regex(/^[^\n\r\0]*$/, 'must be one line');
const MANAGED = ['name', 'baseurl', 'enabled', 'gpgcheck', 'gpgkey'];

const schema = z
  .object({
    /** The section id, `[rhel-source]`. */
    name: repoId,
    /** The `name=` line; the id when left out. */
    description: oneLine.optional(),
    baseurl: urls.optional(),
    enabled: flag.default(true),
    gpgcheck: flag.optional(),
    gpgkey: urls.optional(),
    /** Other keys of the section (`metadata_expire`, `priority`, `mirrorlist`, ...). */
    options: z
      .record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a yum option name'), z.union([oneLine, z.number(), z.boolean()]))
      .default({}),
    /** File under reposdir, `<name>.repo` when left out; `.repo` is added when missing. */
    file: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.@+-]*$/, 'must be a file name (letters, digits, _ . @ + -)')
      .optional(),
    reposdir: absPath.default('/etc/yum.repos.d'),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.baseurl || a.options.mirrorlist || a.options.metalink, {
    message: 'state=present needs baseurl (or options.mirrorlist/metalink)',
    path: ['baseurl'],
  })
  .refine((a) => !Object.keys(a.options).some((k) => MANAGED.includes(k)), {
    message: `must not repeat ${MANAGED.join(', ')} (use those arguments)`,
    path: ['options'],
  });

type Args = z.infer<typeof schema>;
interface Observed {
  path: string;
  text: string | null;
  /** Other .repo files in reposdir that define the same id (reported, never touched). */
  elsewhere: string[];
}
type Change = { kind: 'write'; text: string } | { kind: 'remove' };

interface Key {
  key: string;
  value: string;
  /** Line index of `key=` and one past its last continuation line. */
  start: number;
  end: number;
}
interface Section {
  id: string;
  start: number;
  /** One past the last key or continuation line: comments and blank lines after it stay with the file. */
  end: number;
  keys: Key[];
}

const HEADER = /^\s*\[([^\]]+)\]\s*$/;
const KEYLINE = /^([^\s#;=[][^=]*?)\s*=\s*(.*)$/;

/** The sections of an ini-style .repo file with their key lines (yum's continuation lines included). */
export function parseRepoFile(lines: string[]): Section[] {
  const sections: Section[] = [];
  let cur: Section | undefined;
  let last: Key | undefined;
  lines.forEach((line, i) => {
    const h = line.match(HEADER);
    if (h) {
      cur = { id: h[1].trim(), start: i, end: i + 1, keys: [] };
      sections.push(cur);
      last = undefined;
      return;
    }
    if (!cur) return;
    if (last && /^\s+\S/.test(line) && !/^\s*[#;]/.test(line)) {
      last.value += ' ' + line.trim();
      last.end = cur.end = i + 1;
      return;
    }
    const k = line.match(KEYLINE);
    if (k) {
      last = { key: k[1].trim(), value: k[2].trim(), start: i, end: i + 1 };
      cur.keys.push(last);
      cur.end = i + 1;
    } else if (line.trim() !== '') last = undefined;
  });
  return sections;
}

function desiredKeys(a: Args): Map<string, string[]> {
  const want = new Map<string, string[]>([['name', [a.description ?? a.name]]]);
  if (a.baseurl) want.set('baseurl', a.baseurl);
  want.set('enabled', [a.enabled ? '1' : '0']);
  if (a.gpgcheck !== undefined) want.set('gpgcheck', [a.gpgcheck ? '1' : '0']);
  if (a.gpgkey) want.set('gpgkey', a.gpgkey);
  for (const [k, v] of Object.entries(a.options)) want.set(k, [typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]);
  return want;
}

/** Several URLs go one per line, the later ones indented, as yum's own files write them. */
function render(key: string, values: string[]): string[] {
  return [`${key}=${values[0]}`, ...values.slice(1).map((v) => `        ${v}`)];
}

const TRUE = new Set(['1', 'yes', 'true', 'on']);
const FALSE = new Set(['0', 'no', 'false', 'off']);
function same(have: string, want: string[]): boolean {
  const norm = (s: string) => (TRUE.has(s.toLowerCase()) ? '1' : FALSE.has(s.toLowerCase()) ? '0' : s);
  return have.split(/\s+/).map(norm).join(' ') === want.map(norm).join(' ');
}

/** The file with our section set to `want` (or removed when null); other sections and comments are kept. */
export function editRepoFile(text: string | null, id: string, want: Map<string, string[]> | null): string {
  const lines = splitLines(text);
  const ours = parseRepoFile(lines).filter((s) => s.id === id);
  const replace = new Map<number, { end: number; with: string[] }>();
  ours.forEach((s, n) => {
    if (n > 0 || !want) return replace.set(s.start, { end: s.end, with: [] });
    const body: string[] = [lines[s.start]];
    const placed = new Set<string>();
    for (let i = s.start + 1; i < s.end; ) {
      const k = s.keys.find((x) => x.start === i);
      if (!k) {
        body.push(lines[i++]);
        continue;
      }
      const w = want.get(k.key);
      if (w && !placed.has(k.key)) {
        body.push(...(same(k.value, w) ? lines.slice(k.start, k.end) : render(k.key, w)));
        placed.add(k.key);
      }
      i = k.end;
    }
    for (const [key, v] of want) if (!placed.has(key)) body.push(...render(key, v));
    replace.set(s.start, { end: s.end, with: body });
  });
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const r = replace.get(i);
    if (!r) out.push(lines[i++]);
    else {
      out.push(...r.with);
      i = r.end;
      // A removed section leaves one blank line between its neighbours, not two.
      if (r.with.length === 0 && (out.length === 0 || out[out.length - 1].trim() === '') && (lines[i] ?? '').trim() === '') i++;
    }
  }
  if (want && ours.length === 0) {
    if (out.length && out[out.length - 1].trim() !== '') out.push('');
    out.push(`[${id}]`, ...[...want].flatMap(([k, v]) => render(k, v)));
  }
  if (ours.length) while (out.length && out[out.length - 1].trim() === '') out.pop();
  // A file left with comments only has no repo in it any more.
  if (!parseRepoFile(out).length) return '';
  return out.join('\n') + '\n';
}

/** Our section(s) as the operator would read them in the file, for --diff. */
function sectionText(file: string, text: string | null, id: string): string {
  const lines = splitLines(text);
  const ours = parseRepoFile(lines).filter((s) => s.id === id);
  if (!ours.length) return `${file}: [${id}] (absent)\n`;
  return `${file}:\n` + ours.map((s) => lines.slice(s.start, s.end).join('\n') + '\n').join('');
}

export function repoFileName(a: Pick<Args, 'name' | 'file'>): string {
  const f = a.file ?? a.name;
  return f.endsWith('.repo') ? f : `${f}.repo`;
}

export default defineModule<Args, Observed, Change>({
  name: 'yum_repo',
  summary: 'one [section] of a .repo file under /etc/yum.repos.d',
  schema,
  async read(args, ctx) {
    const file = repoFileName(args);
    const dir = hostPath(ctx, args.reposdir);
    const p = hostPath(ctx, path.posix.join(args.reposdir, file));
    const entries = await fs.readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [] as string[];
      throw e;
    });
    const elsewhere: string[] = [];
    for (const other of entries.filter((f) => f.endsWith('.repo') && f !== file).sort()) {
      const t = await readText(hostPath(ctx, path.posix.join(args.reposdir, other)));
      if (parseRepoFile(splitLines(t)).some((s) => s.id === args.name)) elsewhere.push(other);
    }
    return { path: p, text: await readText(p), elsewhere };
  },
  plan(args, cur) {
    const shown = path.posix.join(args.reposdir, repoFileName(args));
    const next = editRepoFile(cur.text, args.name, args.state === 'present' ? desiredKeys(args) : null);
    const msg = cur.elsewhere.length
      ? `repo id '${args.name}' is also defined in ${cur.elsewhere.join(', ')} under ${args.reposdir} (left alone; yum warns about duplicates)`
      : undefined;
    const before = sectionText(shown, cur.text, args.name);
    const after = sectionText(shown, next, args.name);
    const ours = parseRepoFile(splitLines(cur.text)).some((s) => s.id === args.name);
    const changes: Change[] =
      args.state === 'absent' && !ours
        ? []
        : next === ''
          ? [{ kind: 'remove' }]
          : next === withNewline(cur.text ?? '')
            ? []
            : [{ kind: 'write', text: next }];
    return { changes, before, after, ...(msg ? { msg } : {}) };
  },
  owns(args) {
    if (args.state === 'absent') return undefined;
    const file = repoFileName(args);
    return { id: `yum_repo:${args.reposdir}/${file}:${args.name}`, retire: { name: args.name, file, reposdir: args.reposdir, state: 'absent' } };
  },
  touches: [],
  timeoutMs: 60_000,
  async apply(args, changes, ctx) {
    const p = hostPath(ctx, path.posix.join(args.reposdir, repoFileName(args)));
    for (const c of changes) {
      if (c.kind === 'remove') await fs.rm(p, { force: true });
      else await writeAtomic(p, c.text);
    }
  },
});
