import { exec, execOk } from '../../common/exec.js';
import type { HostFacts, RenderedTask, TaskResult } from '../../common/protocol.js';
import type { Netns } from './procs.js';

/** The compiled script that runs a task list with the agent's runner; see netns-runner.ts. */
export const NETNS_RUNNER = new URL('./netns-runner.js', import.meta.url).pathname;

export type FactsOverride = Partial<Omit<HostFacts, 'os'>> & { os?: Partial<HostFacts['os']> };

export interface NetnsJob {
  /** Module files under agent/modules to register (`address`, `route`, ...). */
  modules: string[];
  tasks: RenderedTask[];
  /** The agent's --root: files of the tasks go under it. */
  root: string;
  check?: boolean;
  diff?: boolean;
  /** Merged over the RHEL 9 defaults of fake-ctx.ts `facts()`. */
  facts?: FactsOverride;
  /** Make `ip -j ...` fail as iproute2 without JSON does (RHEL 6), so the text form is read. */
  noIpJson?: boolean;
}

export function task(module: string, args: Record<string, unknown>, name = `${module} ${JSON.stringify(args)}`): RenderedTask {
  return { name, module, args };
}

/**
 * Runs a task list inside a network namespace, in a child process started with
 * `ip netns exec`, so that every `ip` command and every /proc/sys/net file the modules touch is
 * the namespace's. Returns the runner's results.
 */
export async function runInNetns(netns: Netns, short: string, job: NetnsJob): Promise<TaskResult[]> {
  const r = await exec('ip', ['netns', 'exec', netns.ns(short), process.execPath, NETNS_RUNNER], { input: JSON.stringify(job) });
  if (r.code !== 0) throw new Error(`runner in ${netns.ns(short)} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as TaskResult[];
}

/** `ip -j ARGS` inside the namespace, parsed. */
export async function ipJson<T = unknown>(netns: Netns, short: string, args: string[]): Promise<T> {
  const r = await execOk(exec, 'ip', ['-n', netns.ns(short), '-j', ...args]);
  return JSON.parse(r.stdout) as T;
}

/** A /proc/sys value as the namespace sees it. */
export async function nsSysctl(netns: Netns, short: string, procPath: string): Promise<string> {
  return (await netns.run(short, ['cat', procPath])).stdout.trim();
}
