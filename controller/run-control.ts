import { CtlError } from '../common/errors.js';
import type { RenderedTask } from '../common/protocol.js';
import type { HostLock } from './host-locks.js';
import type { RecordedResult, RunStopped } from './run-record.js';

export type Acquired = 'held' | 'timeout' | 'cancelled';

/**
 * One live run's controls: whether it was cancelled (and how), and which of its jobs are out on
 * agents now, so a cancel reaches each of them.
 */
export class RunControl {
  cancelled: { reason: string; now: boolean } | undefined;
  /** job id -> host, for the jobs sent and not ended yet. */
  readonly jobs = new Map<string, string>();
  private onCancel: (() => void) | undefined;
  private waitTimer: NodeJS.Timeout | undefined;

  cancel(reason: string, now: boolean): void {
    this.cancelled = { reason: this.cancelled?.reason ?? reason, now: now || !!this.cancelled?.now };
    this.onCancel?.();
  }

  /** The controller stops: a wait in progress never ends (nothing more is recorded). */
  detach(): void {
    clearTimeout(this.waitTimer);
    this.onCancel = undefined;
  }

  /** Waits for every lock, at most `timeoutMs`, and no longer than until a cancel. */
  acquire(locks: HostLock[], timeoutMs?: number): Promise<Acquired> {
    if (this.cancelled) return Promise.resolve('cancelled');
    return new Promise((resolve) => {
      const settle = (how: Acquired) => {
        clearTimeout(this.waitTimer);
        this.onCancel = undefined;
        resolve(how);
      };
      this.onCancel = () => settle('cancelled');
      if (timeoutMs !== undefined) this.waitTimer = setTimeout(() => settle('timeout'), timeoutMs);
      void Promise.all(locks.map((l) => l.ready)).then(() => settle('held'));
    });
  }
}

/**
 * The tasks a stopped run never sent, as `skipped` results with the reason: a cancelled or
 * never-started run accounts for every task it planned.
 */
export function unsentResults(tasks: RenderedTask[], offset: number, have: readonly { index: number }[], msg: string): RecordedResult[] {
  const seen = new Set(have.map((r) => r.index));
  return tasks.flatMap((t, i) =>
    seen.has(offset + i) ? [] : [{ index: offset + i, name: t.name, module: t.module, ...(t.role ? { role: t.role } : {}), status: 'skipped' as const, msg, ms: 0 }],
  );
}

/** Seconds as people write them: `2`, `0.3`, `3600`. */
export function secondsText(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

export function refuseBusy(busy: { host: string; run: string }[]): void {
  if (!busy.length) return;
  const list = busy.map((b) => `${b.host} (run ${b.run})`).join(', ');
  throw new CtlError('CTL_ERR_HOSTS_BUSY', `busy with another run: ${list}; not started (--no-wait)`, { field: 'hosts' });
}

/** Why a run stops short, if it does. */
export function stoppedBy(got: Acquired, control: RunControl, waits: { host: string; run: string }[], waitMs?: number): RunStopped | undefined {
  if (got === 'timeout') {
    const on = waits.map((w) => `run ${w.run} on ${w.host}`).join(', ');
    return { code: 'CTL_ERR_WAIT_TIMEOUT', message: `still waiting for ${on} after ${secondsText(waitMs ?? 0)} s (--wait-timeout)` };
  }
  if (control.cancelled) return { code: 'CTL_ERR_RUN_CANCELLED', message: control.cancelled.reason };
  return undefined;
}
