import { execOk } from '../common/exec.js';
import type { ModuleContext } from './module.js';

/** How a kernel table is read: iproute2's JSON (`ip -j`), or the text of releases without it. */
export type IpForm = 'json' | 'text';

export interface IpTable<T> {
  /** RunCache key of the table (what apply steps invalidate). */
  key: string;
  /** `ip` arguments that print the table as JSON. */
  json: string[];
  /** The table from a JSON array (iproute2's output, parsed). */
  fromJson(stdout: string): T;
  /** The table from the text form (RHEL 6's iproute 2.6.32, RHEL 7's 3.10/4.11). */
  fromText(ctx: Pick<ModuleContext, 'exec'>): Promise<T>;
}

/** RunCache key under which the form that works for `key` is kept for the rest of the run. */
export function formKey(key: string): string {
  return `iproute2 form: ${key}`;
}

/** True when `stdout` is a JSON array, which is what every `ip -j ... show` prints. */
export function isJsonArray(stdout: string): boolean {
  try {
    return Array.isArray(JSON.parse(stdout));
  } catch {
    return false;
  }
}

/**
 * Reads a table once per run (until an apply step invalidates it). The first read of a run tries
 * `ip -j`; when that fails (iproute2 without JSON: `Option "-j" is unknown`, exit 255) or prints
 * something other than a JSON array (some releases ignore `-j` for some objects and print text),
 * the text form is read, and the form that worked is kept in the run cache, so that later reads
 * go straight to it. The form is kept per table because a release may have JSON for one object
 * and not for another.
 */
export function readIpTable<T>(ctx: Pick<ModuleContext, 'exec' | 'cache'>, table: IpTable<T>): Promise<T> {
  return ctx.cache.get(table.key, async () => {
    let first: string | undefined;
    const form = await ctx.cache.get<IpForm>(formKey(table.key), async () => {
      const r = await ctx.exec('ip', table.json);
      if (r.code !== 0 || !isJsonArray(r.stdout)) return 'text';
      first = r.stdout;
      return 'json';
    });
    if (form === 'text') return table.fromText(ctx);
    return table.fromJson(first ?? (await execOk(ctx.exec, 'ip', table.json)).stdout);
  });
}
