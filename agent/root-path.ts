import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** A task path that would leave the agent's root: the task fails, nothing is touched. */
export class RootEscapeError extends Error {
  override name = 'RootEscapeError';
}

const realRoots = new Map<string, string>();

function realRoot(root: string): string {
  let r = realRoots.get(root);
  if (r === undefined) {
    try {
      r = realpathSync(root);
    } catch {
      r = path.resolve(root);
    }
    realRoots.set(root, r);
  }
  return r;
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith('/') ? root : root + '/');
}

const missing = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * Where host path `p` is under `root`, walking it one component at a time with lstat so that
 * no symlink takes a read, write, chmod or delete outside the root: a link whose target
 * (resolved fully) stays inside is followed, one that leads out is refused, naming it. The last
 * component is checked but kept as written, so that a rename or delete acts on a link itself,
 * as it would on a real host. With root '/', the agent manages the host itself and its
 * symlinks are the host's own: `p` is returned as it is.
 *
 * A check, then a use: a process that can write under the root could swap a folder for a link
 * in between. The root is the agent's to manage; this keeps tasks (and what the controller
 * sends) from reaching past it, which is what `--root` promises.
 */
export function confinedPath(root: string, p: string): string {
  if (root === '/') return p;
  const top = realRoot(root);
  const parts = path.posix.normalize(`/${p}`).split('/').filter(Boolean);
  let cur = top;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(cur, parts[i]!);
    const shown = `/${parts.slice(0, i + 1).join('/')}`;
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch (e) {
      if (missing(e)) return path.join(next, ...parts.slice(i + 1));
      throw e;
    }
    if (!isLink) {
      cur = next;
      continue;
    }
    const last = i === parts.length - 1;
    let real: string;
    try {
      real = realpathSync(next);
    } catch (e) {
      if (!missing(e)) throw e;
      // A dangling link: harmless as the last component (a write replaces the link, a read
      // finds nothing) if it does not point out; in the middle nothing could be made through it.
      const target = path.resolve(cur, readlinkSync(next));
      if (!inside(top, target)) throw new RootEscapeError(`path ${p} escapes the agent root via symlink ${shown}`);
      if (last) return next;
      throw new RootEscapeError(`path ${p} goes through the dangling symlink ${shown} under the agent root`);
    }
    if (!inside(top, real)) throw new RootEscapeError(`path ${p} escapes the agent root via symlink ${shown}`);
    if (last) return next;
    cur = real;
  }
  return cur;
}
