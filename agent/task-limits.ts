import type { Exec } from '../common/exec.js';
import type { RenderedTask } from '../common/protocol.js';
import type { AnyModule } from './module.js';
import { realTimers, type Timers } from './timers.js';

/** A task whose task, run and module set no limit may take this long. */
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;

/** The module's own limit for one of its tasks (TaskModule.timeoutMs), else the default. */
export function moduleTimeoutMs(module: Pick<AnyModule, 'timeoutMs'>): number {
  return module.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
}

/**
 * A task's limit, as Ansible decides it: the task's own `timeout:` first, then the run's
 * `--task-timeout`, then the module's default.
 */
export function taskTimeoutMs(task: Pick<RenderedTask, 'timeoutMs'>, module: Pick<AnyModule, 'timeoutMs'>, runDefaultMs?: number): number {
  return task.timeoutMs ?? runDefaultMs ?? moduleTimeoutMs(module);
}

/** Seconds as people write them: `2`, `0.5`. */
export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

export class TaskTimedOut extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${seconds(ms)} s`);
    this.name = 'TaskTimedOut';
  }
}

/** `exec` bound to a task's signal: each command in a process group of its own, killed whole on abort. */
export function signalled(exec: Exec, signal: AbortSignal): Exec {
  return (file, args, opts = {}) => exec(file, args, { ...opts, killGroup: true, signal });
}

/**
 * A job's exec, bound to the signal of the task running now. The job's kernel state reads
 * through it, so a table read a task waits for is killed with that task.
 */
export class TaskExec {
  signal: AbortSignal | undefined;
  constructor(private readonly inner: Exec) {}
  readonly exec: Exec = (file, args, opts = {}) => (this.signal ? signalled(this.inner, this.signal)(file, args, opts) : this.inner(file, args, opts));
}

/**
 * Runs one task within `ms`. At the limit, or when the job's signal aborts, the task's signal
 * aborts (which kills the commands it runs) and the promise rejects at once with the reason:
 * also when the task's own work cannot be interrupted (a read from a FIFO holds a thread, not
 * a process). That work is left behind; the runner's guard keeps it from applying later.
 */
export function withinLimit<T>(
  ms: number,
  job: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
  timers: Pick<Timers, 'setTimeout' | 'clearTimeout'> = realTimers,
): Promise<T> {
  const ac = new AbortController();
  if (job?.aborted) return Promise.reject(job.reason as Error);
  const fromJob = () => ac.abort(job!.reason);
  job?.addEventListener('abort', fromJob, { once: true });
  const timer = timers.setTimeout(() => ac.abort(new TaskTimedOut(ms)), ms);
  const stopped = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true }));
  const running = work(ac.signal);
  // Work left behind may still fail later; nobody waits for it any more.
  running.catch(() => {});
  return Promise.race([running, stopped]).finally(() => {
    timers.clearTimeout(timer);
    job?.removeEventListener('abort', fromJob);
  });
}
