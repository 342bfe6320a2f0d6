import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec, type ExecResult } from '../../common/exec.js';
import { AGENT, CTL, Netns, Procs, waitFor } from './procs.js';

export interface NsClusterOptions {
  /** Namespace prefix, unique per test file. */
  prefix: string;
  /** host name -> address on the shared segment (172.25.7.0/24). */
  hosts: Record<string, string>;
  /** The controller's project folder (roles/, playbooks, inventories). */
  project: string;
  token?: string;
  /** Extra environment for the agents (a PATH with more binaries on it). */
  agentEnv?: NodeJS.ProcessEnv;
  /** Extra agent options (`--drift-interval 0`). */
  agentArgs?: string[];
}

/**
 * A controller and one agent per host, each agent in its own network namespace with its own
 * root folder, all on one bridge. The bridge and the controller live in a `hub` namespace, so
 * nothing is added to the host's own namespace. `stop` removes everything, also after failures.
 */
export class NsCluster {
  readonly net: Netns;
  readonly procs = new Procs();
  readonly tmp = mkdtempSync(path.join(os.tmpdir(), 'lvst-cluster-'));
  readonly token: string;

  constructor(readonly opts: NsClusterOptions) {
    this.net = new Netns(opts.prefix);
    this.token = opts.token ?? 'cluster-test-token';
  }

  root(host: string): string {
    return path.join(this.tmp, host);
  }

  short(host: string): string {
    return `h${this.opts.hosts[host].split('.')[3]}`;
  }

  /** `ctl ARGS` run inside the hub namespace against this cluster's controller. */
  ctl(args: string[], cwd = this.opts.project): Promise<ExecResult> {
    return exec('ip', ['netns', 'exec', this.net.ns('hub'), process.execPath, CTL, ...args, '--controller', 'http://127.0.0.1:7480', '--token', this.token], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    });
  }

  async start(seed: (root: string, host: string) => Promise<void> = async () => {}): Promise<void> {
    const segment = Object.fromEntries(Object.entries(this.opts.hosts).map(([h, a]) => [this.short(h), `${a}/24`]));
    await this.net.segment('hub', '172.25.7.1/24', segment);
    this.procs.start('controller', 'ip', ['netns', 'exec', this.net.ns('hub'), process.execPath, CTL, 'controller', 'start', '--listen', '0.0.0.0', '--port', '7480', '--data', path.join(this.tmp, 'data'), '--token', this.token, '--project', this.opts.project]);
    await waitFor('controller', async () => ((await this.ctl(['agents'])).code === 0 ? true : undefined), 30_000);
    for (const host of Object.keys(this.opts.hosts)) {
      await fs.mkdir(this.root(host), { recursive: true });
      await seed(this.root(host), host);
      this.procs.start(host, 'ip', ['netns', 'exec', this.net.ns(this.short(host)), process.execPath, AGENT, '--controller', 'http://172.25.7.1:7480', '--token', this.token, '--name', host, '--root', this.root(host), '--state', path.join(this.tmp, 'state', host), '--heartbeat', '1', ...(this.opts.agentArgs ?? [])], this.opts.agentEnv);
    }
    const want = Object.keys(this.opts.hosts).length;
    await waitFor('agents online with facts', async () => {
      const agents = JSON.parse((await this.ctl(['agents', '--json'])).stdout) as { online: boolean; facts?: unknown }[];
      return agents.filter((a) => a.online && a.facts).length === want ? true : undefined;
    });
  }

  async stop(): Promise<void> {
    await this.procs.stopAll();
    await this.net.destroy();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
