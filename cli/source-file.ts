import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../common/errors.js';

/**
 * The controller reads only its own project folder, so a file found here is sent by content
 * (named by its local path, for messages); a path that is not a file here is passed on for the
 * controller to find in its project.
 */
export function sourceFile(f: string, field: 'inventory' | 'playbook'): string | { name: string; content: string } {
  let isFile = false;
  try {
    isFile = statSync(f).isFile();
  } catch {
    return f;
  }
  if (!isFile) return f;
  try {
    return { name: path.resolve(f), content: readFileSync(f, 'utf8') };
  } catch (e) {
    const code = field === 'inventory' ? 'CTL_ERR_INVENTORY_NOT_FOUND' : 'CTL_ERR_PLAYBOOK_PARSE';
    throw new CtlError(code, `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: f });
  }
}
