import { readFileSync } from 'node:fs';
import type { Exec, ExecResult } from '../../common/exec.js';

/** What iproute2 before JSON support (RHEL 6's 2.6.32, RHEL 7's 3.10) answers to `ip -j ...`. */
export const NO_JSON: ExecResult = { code: 255, stdout: '', stderr: 'Option "-j" is unknown, try "ip -help".\n', ms: 0 };

/** The JSON commands of the address and route modules, and the text ones they fall back to. */
export const CMD = {
  addrJson: 'ip -d -j addr show',
  routeJson: 'ip -4 -j route show table all type unicast',
  links: 'ip -d -o link show',
  addrs: 'ip -o addr show',
  routes: 'ip -4 route show table all',
} as const;

/** An exec that answers every `ip ... -j ...` as old iproute2 does and passes the rest on. */
export function withoutIpJson(inner: Exec): Exec {
  return async (file, args, opts) => (file === 'ip' && args.includes('-j') ? NO_JSON : inner(file, args, opts));
}

const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');

/**
 * fakeExec answers for one scene: `json` answers the JSON commands from `<dir>/<scene>.json`,
 * `text` refuses `-j` and answers the text commands from the `.txt` captures. `dir` is the
 * address fixture folder (`address` or `tunnel`); routes come from `route/` when it has the scene.
 */
export function sceneAnswers(scene: string, form: 'json' | 'text', dir = 'address'): Record<string, Partial<ExecResult>> {
  const withRoutes = dir === 'address';
  if (form === 'json') {
    return {
      [CMD.addrJson]: { stdout: fixture(`${dir}/${scene}.json`) },
      ...(withRoutes ? { [CMD.routeJson]: { stdout: fixture(`route/${scene}.json`) } } : {}),
    };
  }
  return {
    [CMD.addrJson]: NO_JSON,
    [CMD.routeJson]: NO_JSON,
    [CMD.links]: { stdout: fixture(`${dir}/${scene}.link.txt`) },
    [CMD.addrs]: { stdout: fixture(`${dir}/${scene}.addr.txt`) },
    ...(withRoutes ? { [CMD.routes]: { stdout: fixture(`route/${scene}.txt`) } } : {}),
  };
}
