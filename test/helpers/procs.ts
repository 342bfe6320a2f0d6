import { spawn, type ChildProcess } from 'node:child_process';
import { exec, execOk, type ExecResult } from '../../common/exec.js';

export const REPO = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
export const CTL = `${REPO}/bin/ctl.js`;
export const AGENT = `${REPO}/dist/agent/main.js`;

/** Long-running processes a test starts; `stopAll` ends them whatever happened. */
export class Procs {
  private readonly list: { name: string; child: ChildProcess; log: string[] }[] = [];

  start(name: string, file: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    child.stdout!.on('data', (d) => log.push(String(d)));
    child.stderr!.on('data', (d) => log.push(String(d)));
    this.list.push({ name, child, log });
    return child;
  }

  pid(name: string): number | undefined {
    return this.list.find((p) => p.name === name)?.child.pid;
  }

  log(name: string): string {
    return this.list.find((p) => p.name === name)?.log.join('') ?? '';
  }

  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.list.find((x) => x.name === name);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.child.once('exit', () => resolve());
      p.child.kill(signal);
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list.map((p) => this.kill(p.name, 'SIGTERM')));
  }
}

/** Network namespaces made by one test file, all removed by `destroy` even after a failure. */
export class Netns {
  readonly names: string[] = [];
  constructor(readonly prefix: string) {}

  ns(short: string): string {
    return `${this.prefix}-${short}`;
  }

  async add(short: string): Promise<string> {
    const name = this.ns(short);
    await exec('ip', ['netns', 'del', name]);
    await execOk(exec, 'ip', ['netns', 'add', name]);
    this.names.push(name);
    await this.run(short, ['ip', 'link', 'set', 'lo', 'up']);
    return name;
  }

  run(short: string, argv: string[], opts: { input?: string } = {}): Promise<ExecResult> {
    return execOk(exec, 'ip', ['netns', 'exec', this.ns(short), ...argv], opts);
  }

  try(short: string, argv: string[]): Promise<ExecResult> {
    return exec('ip', ['netns', 'exec', this.ns(short), ...argv]);
  }

  /**
   * A shared L2 segment: a bridge in `hub` with `hubAddr`, and one veth per host whose far end is
   * `eth0` inside the host's namespace with the given address.
   */
  async segment(hub: string, hubAddr: string, hosts: Record<string, string>): Promise<void> {
    await this.add(hub);
    await this.run(hub, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await this.run(hub, ['ip', 'addr', 'add', hubAddr, 'dev', 'br0']);
    await this.run(hub, ['ip', 'link', 'set', 'br0', 'up']);
    let i = 0;
    for (const [short, addr] of Object.entries(hosts)) {
      const ns = await this.add(short);
      const port = `v${process.pid % 10000}x${i++}`;
      await execOk(exec, 'ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', `${port}p`]);
      await execOk(exec, 'ip', ['link', 'set', port, 'netns', this.ns(hub)]);
      await execOk(exec, 'ip', ['link', 'set', `${port}p`, 'netns', ns]);
      await this.run(hub, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
      await this.run(short, ['ip', 'link', 'set', `${port}p`, 'name', 'eth0']);
      await this.run(short, ['ip', 'addr', 'add', addr, 'dev', 'eth0']);
      await this.run(short, ['ip', 'link', 'set', 'eth0', 'up']);
    }
  }

  async destroy(): Promise<void> {
    for (const n of this.names.reverse()) await exec('ip', ['netns', 'del', n]);
    this.names.length = 0;
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
