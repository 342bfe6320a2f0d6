import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { CtlError } from '../../common/errors.js';
import { ensurePrivateDir, writePrivateFileAtomic } from '../../common/private-file.js';

export { ensurePrivateDir, writePrivateFileAtomic };

/**
 * One JSON file of secrets (token hashes, enrollment requests, sessions) in a private folder,
 * kept apart from store.json. Checked against a schema on load: a damaged file is refused with
 * its name, never reset. Saves are serialised, each writing the whole (small) document.
 */
export class SecretsFile<T> {
  private saving: Promise<void> = Promise.resolve();
  private stamp: string;

  private constructor(
    readonly file: string,
    public data: T,
    private readonly schema: z.ZodType<T>,
  ) {
    this.stamp = stampOf(file);
  }

  static open<T>(file: string, schema: z.ZodType<T>, empty: () => T): SecretsFile<T> {
    ensurePrivateDir(path.dirname(file));
    return new SecretsFile(file, SecretsFile.read(file, schema) ?? empty(), schema);
  }

  /**
   * Reads the file again when another process replaced it since this one last read or wrote it
   * (`ctl controller token create --data DIR` next to a running controller).
   */
  refresh(): void {
    const now = stampOf(this.file);
    // Gone or unreadable for the moment (the folder moved, a full disk): what was read stands.
    if (now === this.stamp || now === 'none') return;
    try {
      const data = SecretsFile.read(this.file, this.schema);
      if (data) this.data = data;
      this.stamp = now;
    } catch {
      // A half-written or damaged copy from elsewhere: keep what was read; the next look retries.
    }
  }

  private static read<T>(file: string, schema: z.ZodType<T>): T | undefined {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CtlError('CTL_ERR_STORE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
    }
    // A copy made with cp or an editor may have widened the mode; these files are never shared.
    chmodSync(file, 0o600);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CtlError('CTL_ERR_STORE', `${file} is not valid JSON: ${(e as Error).message}`, { file });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CtlError('CTL_ERR_STORE', `${file}: ${issue?.path.join('.') || '(document)'}: ${issue?.message ?? 'unexpected shape'}`, { file, field: issue?.path.join('.') });
    }
    return parsed.data;
  }

  /** Writes the current data; resolves once it is on disk. Errors are thrown, never swallowed. */
  save(): Promise<void> {
    const text = JSON.stringify(this.data, null, 2) + '\n';
    const next = this.saving
      .catch(() => undefined)
      .then(() => writePrivateFileAtomic(this.file, text))
      .then(() => {
        this.stamp = stampOf(this.file);
      });
    this.saving = next;
    return next.catch((e) => {
      throw new CtlError('CTL_ERR_STORE', `cannot write ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: this.file });
    });
  }
}

function stampOf(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'none';
  }
}
