import path from 'node:path';
import { ensurePrivateDir } from '../common/private-file.js';

/** Where an agent keeps what must outlive it (job journal, identity, health states). */
export const DEFAULT_STATE_DIR = '/var/lib/lvsctl-agent';

/**
 * `--state DIR`, else the default under the agent's `--root`: an agent confined to a folder (the
 * lab's hosts, tests) keeps its state inside it, and two agents never share one.
 */
export function resolveStateDir(given: string | undefined, root: string): string {
  return path.resolve(given ?? path.join(root, DEFAULT_STATE_DIR));
}

/** Creates the state folder (0700): it holds the agent's key, too. */
export function ensureStateDir(dir: string): void {
  ensurePrivateDir(dir);
}
