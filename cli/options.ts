import { InvalidArgumentError, type Command } from 'commander';

/** Each command's action reports its exit code here (commander's actions return nothing). */
export type Done = (code: number) => void;

/** A repeatable option (`-i a -i b`): every value, in order. */
export function many(value: string, previous?: string[]): string[] {
  return [...(previous ?? []), value];
}

export function tcpPort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a TCP port (1-65535)');
  return n;
}

/** What to plan from: inventories, hosts, extra vars (run, drift, lint). */
export function planOptions(cmd: Command): Command {
  return cmd
    .option('-i, --inventory <file>', 'inventory file, INI or YAML; repeat for several, later ones win (default: $LVSCTL_INVENTORY or inventory/lab.yml)', many)
    .option('--hosts <pattern>', 'host pattern (server2, web, all, server[3:4], web:!server4, a:&b, ~regex); for a playbook a limit')
    .option('-l, --limit <pattern>', 'the same as --hosts')
    .option('-e, --extra-vars <vars>', 'key=value ..., a JSON/YAML mapping, or @file.yml; repeatable, later ones win', many);
}

/** Seconds on the command line: a positive number, at most a week (the API's bound). */
export function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0) || n > 7 * 86_400) throw new InvalidArgumentError('must be a number of seconds (0 < N <= 604800)');
  return n;
}

/** Time limits and waiting of a run (run, drift). */
export function runControlOptions(cmd: Command): Command {
  return cmd
    .option('--task-timeout <s>', 'seconds a task may take unless its role sets `timeout:` (default: the module\'s, 300 s for most)', positiveSeconds)
    .option('--job-timeout <s>', 'seconds a host may take for one play before it is given up as unreachable and its job cancelled (default 3600)', positiveSeconds)
    .option('--wait-timeout <s>', 'seconds to wait for hosts busy with another run, then give up (default: wait)', positiveSeconds)
    .option('--no-wait', 'refuse at once when a host is busy with another run');
}
