import { chmodSync, readFileSync } from 'node:fs';
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

  private constructor(
    readonly file: string,
    public data: T,
  ) {}

  static open<T>(file: string, schema: z.ZodType<T>, empty: () => T): SecretsFile<T> {
    ensurePrivateDir(path.dirname(file));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new SecretsFile(file, empty());
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
    return new SecretsFile(file, parsed.data);
  }

  /** Writes the current data; resolves once it is on disk. Errors are thrown, never swallowed. */
  save(): Promise<void> {
    const text = JSON.stringify(this.data, null, 2) + '\n';
    const next = this.saving.catch(() => undefined).then(() => writePrivateFileAtomic(this.file, text));
    this.saving = next;
    return next.catch((e) => {
      throw new CtlError('CTL_ERR_STORE', `cannot write ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: this.file });
    });
  }
}
