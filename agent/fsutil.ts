import { promises as fs } from 'node:fs';
import path from 'node:path';

/** The file's text, or null when it does not exist. */
export async function readText(p: string): Promise<string | null> {
  try {
    return await fs.readFile(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export async function statMode(p: string): Promise<number | null> {
  try {
    return (await fs.stat(p)).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Writes through a temporary file in the same folder and renames it over the target, so a crash
 * leaves either the old or the new file, never half of one. Keeps the old mode unless told.
 */
export async function writeAtomic(p: string, content: string, mode?: number): Promise<void> {
  await fs.mkdir(path.dirname(p), { recursive: true });
  const keep = mode ?? (await statMode(p)) ?? 0o644;
  const tmp = path.join(path.dirname(p), `.${path.basename(p)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.writeFile(tmp, content, { mode: keep });
    await fs.chmod(tmp, keep);
    await fs.rename(tmp, p);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

export function octal(mode: number | null): string {
  return mode === null ? '(absent)' : '0' + mode.toString(8).padStart(3, '0');
}

export function parseMode(m: string): number {
  return parseInt(m, 8);
}

/** Ensures text ends in exactly one newline, the way editors save files. */
export function withNewline(s: string): string {
  return s.length === 0 || s.endsWith('\n') ? s : s + '\n';
}
