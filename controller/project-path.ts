import { realpathSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../common/errors.js';

/** The deepest existing ancestor of `p` (itself when it exists), with symlinks resolved. */
function realPrefix(p: string): { real: string; rest: string[] } {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return { real: realpathSync(cur), rest };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const parent = path.dirname(cur);
      if (parent === cur) return { real: cur, rest };
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

function inside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * A path from an API request (inventory, playbook), resolved inside the controller's project
 * folder: relative to it, or absolute within it. `..` that leaves the folder, absolute paths
 * elsewhere, and symlinks whose target is outside it are refused with CTL_ERR_PATH_OUTSIDE_PROJECT
 * naming the field, before anything is read. Returns the real path to read (symlinks inside the
 * project resolved), or the lexical one when the file does not exist, so "not found" names it.
 */
export function resolveInProject(projectDir: string, p: string, field: string): string {
  const refuse = (why: string): never => {
    throw new CtlError('CTL_ERR_PATH_OUTSIDE_PROJECT', `${field} '${p}' ${why}; the controller reads only files of its project folder (ctl sends local files by content)`, { field });
  };
  if (typeof p !== 'string' || p === '' || p.includes('\0')) refuse('is not a path');
  const root = realpathSync(projectDir);
  const lexical = path.resolve(root, p);
  if (!inside(root, lexical) && !inside(path.resolve(projectDir), path.resolve(projectDir, p))) refuse('is outside the project folder');
  const { real, rest } = realPrefix(path.resolve(projectDir, p));
  if (!inside(root, real)) refuse('leads outside the project folder through a symlink');
  return rest.length ? path.join(real, ...rest) : real;
}
