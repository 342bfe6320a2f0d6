import type { RunRequest } from '../common/api.js';
import type { EndpointFlags } from './client.js';
import { parseExtraVars } from './extra-vars.js';
import { sourceFile } from './source-file.js';

const DEFAULT_INVENTORY = process.env.LVSCTL_INVENTORY ?? 'inventory/lab.yml';

/** The options of `ctl run`, `drift` and `lint` as commander gives them (cli/program.ts). */
export interface RunFlags extends EndpointFlags {
  hosts?: string;
  limit?: string;
  inventory?: string[];
  extraVars?: string[];
  check?: boolean;
  diff?: boolean;
  json?: boolean;
  taskTimeout?: number;
  jobTimeout?: number;
  waitTimeout?: number;
  /** false with --no-wait (commander's default is true). */
  wait?: boolean;
}

/** The API's run request for these flags; files found here are sent by content (see sourceFile). */
export function runBody(kind: 'role' | 'playbook', target: string, flags: RunFlags): RunRequest {
  const hosts = flags.hosts ?? flags.limit;
  return {
    kind,
    ...(kind === 'role' ? { role: target } : { playbook: sourceFile(target, 'playbook') }),
    ...(hosts ? { hosts } : {}),
    inventory: (flags.inventory ?? [DEFAULT_INVENTORY]).map((f) => sourceFile(f, 'inventory')),
    extraVars: parseExtraVars(flags.extraVars ?? []),
    check: !!flags.check,
    diff: !!flags.diff,
    ...(flags.taskTimeout !== undefined ? { taskTimeout: flags.taskTimeout } : {}),
    ...(flags.jobTimeout !== undefined ? { jobTimeout: flags.jobTimeout } : {}),
    ...(flags.waitTimeout !== undefined ? { waitTimeout: flags.waitTimeout } : {}),
    ...(flags.wait === false ? { wait: false } : {}),
  };
}
