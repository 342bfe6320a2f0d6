import type { TaskResult } from '../common/protocol.js';
import type { Recap } from '../common/api.js';
import { diffLines } from './diff-text.js';

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const color = { ok: paint('32'), changed: paint('33'), failed: paint('31'), skipped: paint('36'), unreachable: paint('31;1'), dim: paint('2') };

export function out(s: string): void {
  process.stdout.write(s + '\n');
}

export function banner(text: string): string {
  return `${text} ${'*'.repeat(Math.max(3, 78 - text.length))}`;
}

/** `changed: [server2] role : task name (12 ms)` and, when asked, its diff and message. */
export function taskLine(host: string, r: TaskResult, showDiff: boolean): string {
  const label = r.status === 'failed' ? 'failed' : r.status;
  const name = r.role ? `${r.role} : ${r.name}` : r.name;
  const lines = [color[r.status](`${label}: [${host}] ${name}`) + color.dim(` (${r.module}, ${Math.round(r.ms)} ms)`)];
  if (r.msg && (r.status === 'failed' || r.status === 'skipped' || showDiff)) lines.push(`    ${r.status === 'failed' ? color.failed(r.msg) : r.msg}`);
  if (showDiff && r.diff) {
    for (const l of diffLines(r.diff.before, r.diff.after)) {
      lines.push('    ' + (l.startsWith('+') ? color.ok(l) : l.startsWith('-') ? color.failed(l) : l));
    }
  }
  return lines.join('\n');
}

export function unreachableLine(host: string, why: string): string {
  return color.unreachable(`fatal: [${host}]: UNREACHABLE! => ${why}`);
}

/** The run waits for a host another run holds: said live, so an overlap is never silent. */
export function waitingLine(host: string, run: string): string {
  return color.dim(`waiting for run ${run} on ${host}`);
}

export function recapLines(recap: Record<string, Recap>): string[] {
  const width = Math.max(20, ...Object.keys(recap).map((h) => h.length));
  const col = (k: keyof Recap, v: number) => {
    const s = `${k}=${v}`.padEnd(k.length + 5);
    return v > 0 && k !== 'ok' && k !== 'skipped' ? color[k](s) : v > 0 && k === 'ok' ? color.ok(s) : s;
  };
  return Object.entries(recap)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([h, r]) =>
        `${h.padEnd(width)} : ${col('ok', r.ok)} ${col('changed', r.changed)} ${col('unreachable', r.unreachable)} ${col('failed', r.failed)} ${col('skipped', r.skipped)}`,
    );
}

export function printRecap(recap: Record<string, Recap>): void {
  out('');
  out(banner('RECAP'));
  for (const l of recapLines(recap)) out(l);
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}
