import { spawnLines, type LineExit, type LineProcess, type SpawnLines } from '../../common/exec.js';
import { realTimers, type Timers } from './timers.js';

/**
 * rtnetlink tells address, route and link changes as they happen; IPVS and /proc/sys tell
 * nothing and are polled by the watch's interval instead.
 */
export const IP_MONITOR = { file: 'ip', args: ['-o', 'monitor', 'address', 'route', 'link'] } as const;

/** `kernel`: lines from the monitor; `restart`: the monitor was down, so changes may have been missed. */
export interface KernelChange {
  reason: 'kernel' | 'restart';
  /** The burst's lines, at most MAX_LINES of them (for the debug log). */
  lines: string[];
}

export interface KernelEventsOptions {
  onChange(change: KernelChange): void;
  onLog?(msg: string): void;
  command?: { file: string; args: readonly string[] };
  spawn?: SpawnLines;
  timers?: Timers;
  /** Lines within this window of the first one are one change (default 100 ms). */
  debounceMs?: number;
  /** Restart delay after the monitor died: doubles from minMs up to maxMs (default 1 s .. 30 s). */
  backoff?: { minMs: number; maxMs: number };
  /** A monitor that ran at least this long before dying restarts after minMs again (default 60 s). */
  stableMs?: number;
}

const MAX_LINES = 20;

/**
 * Runs `ip -o monitor address route link` for as long as it is started, reports bursts of its
 * lines as one change, and restarts it with backoff when it dies.
 */
export class KernelEvents {
  private readonly timers: Timers;
  private readonly spawn: SpawnLines;
  private proc: LineProcess | undefined;
  private startedAt = 0;
  private delayMs: number;
  private running = false;
  private restartTimer: unknown;
  private burstTimer: unknown;
  private burst: string[] = [];
  private spawned = 0;

  constructor(private readonly opts: KernelEventsOptions) {
    this.timers = opts.timers ?? realTimers;
    this.spawn = opts.spawn ?? spawnLines;
    this.delayMs = this.backoff.minMs;
  }

  private get backoff() {
    return this.opts.backoff ?? { minMs: 1000, maxMs: 30_000 };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.launch();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of [this.restartTimer, this.burstTimer]) if (t !== undefined) this.timers.clearTimeout(t);
    this.restartTimer = this.burstTimer = undefined;
    this.burst = [];
    const p = this.proc;
    this.proc = undefined;
    await p?.stop();
  }

  /** How many times the monitor was started (1 + restarts). */
  get starts(): number {
    return this.spawned;
  }

  /** The running monitor's pid, if one runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private launch(): void {
    const cmd = this.opts.command ?? IP_MONITOR;
    this.startedAt = this.timers.now();
    const proc = this.spawn(cmd.file, cmd.args, (line) => this.line(line));
    this.proc = proc;
    const restarted = this.spawned++ > 0;
    if (restarted) this.opts.onChange({ reason: 'restart', lines: [] });
    void proc.exited.then((exit) => this.exited(proc, exit));
  }

  private line(line: string): void {
    if (!this.running || !line.trim()) return;
    if (this.burst.length < MAX_LINES) this.burst.push(line);
    if (this.burstTimer !== undefined) return;
    this.burstTimer = this.timers.setTimeout(() => {
      this.burstTimer = undefined;
      const lines = this.burst;
      this.burst = [];
      this.opts.onChange({ reason: 'kernel', lines });
    }, this.opts.debounceMs ?? 100);
  }

  private exited(proc: LineProcess, exit: LineExit): void {
    if (!this.running || this.proc !== proc) return;
    this.proc = undefined;
    const { minMs, maxMs } = this.backoff;
    if (this.timers.now() - this.startedAt >= (this.opts.stableMs ?? 60_000)) this.delayMs = minMs;
    const why = exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`;
    const err = exit.stderr.trim().split('\n').slice(-1)[0];
    this.opts.onLog?.(`kernel monitor ended (${why}${err ? `: ${err}` : ''}); restarting in ${this.delayMs} ms`);
    this.restartTimer = this.timers.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running) this.launch();
    }, this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, maxMs);
  }
}
