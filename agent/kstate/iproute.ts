import { execOk, type Exec } from '../../common/exec.js';

/** How a kernel table is read: iproute2's JSON (`ip -j`), or the text of releases without it. */
export type IpForm = 'json' | 'text';

export interface IpSource<T> {
  /** Name under which the form that works is kept (`ip-addr`, `ip-route`). */
  name: string;
  /** `ip` arguments that print the table as JSON. */
  json: string[];
  /** The table from a JSON array (iproute2's output, parsed). */
  fromJson(stdout: string): T;
  /** The table from the text form (RHEL 6's iproute 2.6.32, RHEL 7's 3.10/4.11). */
  fromText(exec: Exec): Promise<T>;
}

/**
 * Which form works, per source. Decided by the first read and kept across invalidations (and,
 * when the owner passes the same instance on, across KernelStates), since iproute2 does not
 * change under a running agent.
 */
export class IpForms {
  private readonly decided = new Map<string, Promise<IpForm>>();
  decide(name: string, probe: () => Promise<IpForm>): Promise<IpForm> {
    let form = this.decided.get(name);
    if (!form) {
      form = probe();
      this.decided.set(name, form);
      form.catch(() => this.decided.delete(name));
    }
    return form;
  }
  /** The form decided for `name`, if any read has decided it yet. */
  get(name: string): Promise<IpForm> | undefined {
    return this.decided.get(name);
  }
}

/** Parses iproute2's JSON; on text (iproute2 without working `-j`), one clear message. */
export function parseIpJson<T>(command: string, stdout: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) throw new Error(`\`${command}\` did not print a JSON array: iproute2 too old for -j?`);
  return parsed as T[];
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
 * Reads a table in the form that works. The first read tries `ip -j`; when that fails (iproute2
 * without JSON: `Option "-j" is unknown`, exit 255) or prints something other than a JSON array
 * (some releases ignore `-j` for some objects and print text), the text form is read, and the
 * form that worked is kept in `forms`, so that later reads go straight to it. The form is kept
 * per source because a release may have JSON for one object and not for another. The deciding
 * read's output is used, so a JSON host spawns one `ip` per read.
 */
export async function readIp<T>(exec: Exec, forms: IpForms, source: IpSource<T>): Promise<T> {
  let first: string | undefined;
  const form = await forms.decide(source.name, async () => {
    const r = await exec('ip', source.json);
    if (r.code !== 0 || !isJsonArray(r.stdout)) return 'text';
    first = r.stdout;
    return 'json';
  });
  if (form === 'text') return source.fromText(exec);
  return source.fromJson(first ?? (await execOk(exec, 'ip', source.json)).stdout);
}
