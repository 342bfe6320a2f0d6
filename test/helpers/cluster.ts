import { X509Certificate } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Extra environment for the agents (a PATH with more binaries on it). */
  agentEnv?: NodeJS.ProcessEnv;
  /** Extra agent options (`--drift-interval 0`). */
  agentArgs?: string[];
}

/**
 * A controller and one agent per host, each agent in its own network namespace with its own
 * root folder, all on one bridge. The bridge and the controller live in a `hub` namespace, so
 * nothing is added to the host's own namespace. `stop` removes everything, also after failures.
 * TLS as in production: `ctl controller init`, agents enrolled with a one-time token and the
 * CA's fingerprint, `ctl` with the CA and a token file; no secret on any command line.
 */
export class NsCluster {
  readonly net: Netns;
  readonly procs = new Procs();
  readonly tmp = mkdtempSync(path.join(os.tmpdir(), 'lvst-cluster-'));
  readonly data = path.join(this.tmp, 'data');
  /** The admin API token `ctl controller init` wrote (0600). */
  readonly tokenFile = path.join(this.tmp, 'api-token');
  readonly enrollTokenFile = path.join(this.tmp, 'enroll-token');
  readonly caFile = path.join(this.data, 'pki', 'ca.crt');

  constructor(readonly opts: NsClusterOptions) {
    this.net = new Netns(opts.prefix);
  }

  root(host: string): string {
    return path.join(this.tmp, host);
  }

  state(host: string): string {
    return path.join(this.tmp, 'state', host);
  }

  short(host: string): string {
    return `h${this.opts.hosts[host].split('.')[3]}`;
  }

  /** `ctl ARGS` run inside the hub namespace against this cluster's controller. */
  ctl(args: string[], cwd = this.opts.project): Promise<ExecResult> {
    return exec('ip', ['netns', 'exec', this.net.ns('hub'), process.execPath, CTL, ...args, '--controller', 'https://127.0.0.1:7480', '--ca', this.caFile, '--token-file', this.tokenFile], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    });
  }

  /** Starts the controller (again, after a kill: same data folder) as process `name`; resolves once it answers. */
  async startController(name = 'controller'): Promise<void> {
    this.procs.start(name, 'ip', ['netns', 'exec', this.net.ns('hub'), process.execPath, CTL, 'controller', 'start', '--listen', '0.0.0.0', '--port', '7480', '--data', this.data, '--project', this.opts.project]);
    await waitFor('controller', async () => ((await this.ctl(['agents'])).code === 0 ? true : undefined), 30_000);
  }

  async start(seed: (root: string, host: string) => Promise<void> = async () => {}): Promise<void> {
    const segment = Object.fromEntries(Object.entries(this.opts.hosts).map(([h, a]) => [this.short(h), `${a}/24`]));
    await this.net.segment('hub', '172.25.7.1/24', segment);
    const init = await exec(process.execPath, [CTL, 'controller', 'init', '--data', this.data, '--san', '172.25.7.1', '--san', '127.0.0.1', '--admin-token-file', this.tokenFile]);
    if (init.code !== 0) throw new Error(`ctl controller init: ${init.stderr}`);
    await this.startController();
    const hosts = Object.keys(this.opts.hosts);
    const made = await this.ctl(['agents', 'token', '--hosts', hosts.join(','), '--uses', String(hosts.length), '--json']);
    if (made.code !== 0) throw new Error(`ctl agents token: ${made.stderr}`);
    writeFileSync(this.enrollTokenFile, (JSON.parse(made.stdout) as { token: string }).token, { mode: 0o600 });
    const fingerprint = new X509Certificate(readFileSync(this.caFile)).fingerprint256;
    for (const host of hosts) {
      await fs.mkdir(this.root(host), { recursive: true });
      await seed(this.root(host), host);
      this.procs.start(host, 'ip', ['netns', 'exec', this.net.ns(this.short(host)), process.execPath, AGENT, '--controller', 'https://172.25.7.1:7480', '--name', host, '--root', this.root(host), '--state', this.state(host), '--ca-fingerprint', fingerprint, '--enroll-token-file', this.enrollTokenFile, '--heartbeat', '1', ...(this.opts.agentArgs ?? [])], this.opts.agentEnv);
    }
    await this.agentsOnline();
  }

  /** Every agent connected, with facts. */
  async agentsOnline(timeoutMs = 60_000): Promise<void> {
    const want = Object.keys(this.opts.hosts).length;
    await waitFor('agents online with facts', async () => {
      const agents = JSON.parse((await this.ctl(['agents', '--json'])).stdout) as { online: boolean; facts?: unknown }[];
      return agents.filter((a) => a.online && a.facts).length === want ? true : undefined;
    }, timeoutMs);
  }

  /** `ctl ARGS` started in the hub namespace and left running (a run to watch, to kill around). */
  ctlProcess(name: string, args: string[]): { exit: Promise<number>; out: () => string } {
    const child = this.procs.start(name, 'ip', ['netns', 'exec', this.net.ns('hub'), process.execPath, CTL, ...args, '--controller', 'https://127.0.0.1:7480', '--ca', this.caFile, '--token-file', this.tokenFile], { NO_COLOR: '1' });
    const exit = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    return { exit, out: () => this.procs.log(name) };
  }

  async stop(): Promise<void> {
    await this.procs.stopAll();
    await this.net.destroy();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
