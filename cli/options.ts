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
