import { findingKey, type Finding } from '../../common/findings.js';
import { realTimers, type Timers } from './timers.js';

/** What changed between two checks; `all` is the full set, which the controller's ledger takes. */
export interface FindingsDiff {
  appeared: Finding[];
  /** Same finding (role, task, field), other values: the weight went from 0 to 2, still not 3. */
  changed: Finding[];
  resolved: Finding[];
  all: Finding[];
  /** The first check since start: sent even when empty, so stale findings of a previous run resolve. */
  first: boolean;
  at: number;
}

export interface DriftWatcherOptions {
  /** Checks the held desired state in check mode (agent/watch/check.ts over the runner). */
  check(): Promise<Finding[]>;
  onDiff(diff: FindingsDiff): void;
  onError?(err: Error): void;
  /** Between the end of one check and the start of the next (default 5 s). */
  intervalMs?: number;
  /** Kicks within this window of the first one make one check (default 200 ms). */
  debounceMs?: number;
  timers?: Timers;
}

const same = (a: Finding, b: Finding) => a.before === b.before && a.after === b.after && a.text === b.text;

export function diffFindings(prev: readonly Finding[], next: readonly Finding[]): Pick<FindingsDiff, 'appeared' | 'changed' | 'resolved'> {
  const old = new Map(prev.map((f) => [findingKey(f), f]));
  const now = new Map(next.map((f) => [findingKey(f), f]));
  return {
    appeared: [...now].filter(([k]) => !old.has(k)).map(([, f]) => f),
    changed: [...now].filter(([k, f]) => old.has(k) && !same(old.get(k)!, f)).map(([, f]) => f),
    resolved: [...old].filter(([k]) => !now.has(k)).map(([, f]) => f),
  };
}

/**
 * Re-checks on an interval and, debounced, whenever kicked (a kernel event); one check at a
 * time, a kick during a check makes exactly one more right after it. Reports the difference
 * of findings the moment a check finds one.
 */
export class DriftWatcher {
  private readonly timers: Timers;
  private readonly intervalMs: number;
  private readonly debounceMs: number;
  private current: Finding[] = [];
  private checked = 0;
  private firstPending = true;
  private running: Promise<void> | undefined;
  private again = false;
  private paused = false;
  private stopped = true;
  private intervalTimer: unknown;
  private debounceTimer: unknown;

  constructor(private readonly opts: DriftWatcherOptions) {
    this.timers = opts.timers ?? realTimers;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.debounceMs = opts.debounceMs ?? 200;
  }

  /** Starts watching with a check at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.firstPending = true;
    void this.run();
  }

  /** Something changed (a kernel event): check soon, once for a burst. */
  kick(): void {
    if (this.stopped) return;
    if (this.paused || this.running) {
      this.again = true;
      return;
    }
    if (this.debounceTimer !== undefined) return;
    this.debounceTimer = this.timers.setTimeout(() => {
      this.debounceTimer = undefined;
      void this.run();
    }, this.debounceMs);
  }

  /** No check while an applying run changes the host; resolves when a check under way ended. */
  async pause(): Promise<void> {
    this.paused = true;
    this.clearTimers();
    await this.running;
  }

  /** Checks at once: the run that paused the watch has changed what the host holds. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.again = false;
    if (!this.stopped) void this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.running;
  }

  findings(): Finding[] {
    return [...this.current];
  }

  /** Checks completed (successful or not) since construction. */
  get checks(): number {
    return this.checked;
  }

  private clearTimers(): void {
    if (this.intervalTimer !== undefined) this.timers.clearTimeout(this.intervalTimer);
    if (this.debounceTimer !== undefined) this.timers.clearTimeout(this.debounceTimer);
    this.intervalTimer = this.debounceTimer = undefined;
  }

  private run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.stopped || this.paused) return Promise.resolve();
    this.clearTimers();
    this.running = this.once().finally(() => {
      this.running = undefined;
      if (this.stopped || this.paused) return;
      if (this.again) {
        this.again = false;
        void this.run();
      } else {
        this.intervalTimer = this.timers.setTimeout(() => {
          this.intervalTimer = undefined;
          void this.run();
        }, this.intervalMs);
      }
    });
    return this.running;
  }

  private async once(): Promise<void> {
    let next: Finding[];
    try {
      next = await this.opts.check();
    } catch (e) {
      this.checked++;
      this.opts.onError?.(e as Error);
      return;
    }
    const first = this.firstPending;
    this.firstPending = false;
    this.checked++;
    const diff = diffFindings(this.current, next);
    this.current = next;
    if (first || diff.appeared.length || diff.changed.length || diff.resolved.length) {
      this.opts.onDiff({ ...diff, all: [...next], first, at: this.timers.now() });
    }
  }
}
