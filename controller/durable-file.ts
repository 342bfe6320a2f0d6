import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * lowdb's adapter contract over one JSON file, written so that a crash or power cut leaves
 * either the old file or the new one: write a temporary file (mode 0600), fsync it, rename it
 * over the old one, fsync the folder so the rename itself is on disk. lowdb's own JSONFile
 * (steno) renames without fsync, which a power cut can turn into an empty file.
 * `read` gives the text as it is; parsing and checking it is the store's job.
 */
export interface TextFileAdapter {
  readonly file: string;
  /** The file's text, or null when there is no file yet. */
  readText(): Promise<string | null>;
  writeText(text: string): Promise<void>;
}

export class DurableFile implements TextFileAdapter {
  constructor(readonly file: string) {}

  async readText(): Promise<string | null> {
    try {
      return await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async writeText(text: string): Promise<void> {
    const dir = path.dirname(this.file);
    const tmp = path.join(dir, `.${path.basename(this.file)}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await fh.close();
    await rename(tmp, this.file);
    await syncDir(dir);
  }
}

/** fsync of a folder: makes a rename or a new file in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A write error as one short line for /api/health: the errno and its meaning, no paths. */
export function describeWriteError(what: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const meaning = err.code ? err.message.replace(/^\w+:\s*/, '').split(',')[0] : err.message;
  return `cannot write ${what}: ${err.code ? `${err.code} (${meaning})` : meaning}`;
}
