import type { Exec } from '../common/exec.js';
import type { JobCancel, JobRecord, RunJob, TaskResult } from '../common/protocol.js';
import type { JobJournal } from './job-journal.js';
import type { JobStops } from './runner.js';
import { seconds, TaskExec } from './task-limits.js';
import type { Timers } from './timers.js';

interface Live {
  job: RunJob;
  /** The agent's monotonic clock when the job came: its deadline counts from here. */
  receivedAt: number;
  started: boolean;
  /** Cancelled before its turn: it never starts. */
  cancelled?: string;
  /** Cancelled while running: tasks not begun are skipped. */
  halted?: string;
  /** Aborted by a cancel with `now` or the deadline: the running task is killed. */
  abort: AbortController;
  deadline?: unknown;
}

export type Arrival = { kind: 'queued' } | { kind: 'duplicate'; record: JobRecord };
export type Turn = { kind: 'run'; stops: JobStops & { exec: TaskExec } } | { kind: 'refused'; why: string };

/**
 * What decides whether and how long a job runs on the agent: a job id runs once (ids are kept
 * in the job journal, across reconnects and restarts); a job whose deadline passed while it
 * waited never starts, and one still running at its deadline is stopped; a cancel stops a job
 * at its next task boundary, or at once with `now`. The deadline is relative to the agent's
 * own monotonic clock from the job's arrival, so clock skew with the controller does not matter.
 */
export class JobControl {
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly journal: JobJournal,
    private readonly timers: Timers,
    private readonly exec: Exec,
  ) {}

  /** A job came: queued, or known already (it ran, runs or was refused here before). */
  receive(job: RunJob): Arrival {
    const known = this.journal.get(job.runId);
    if (known) return { kind: 'duplicate', record: known };
    this.journal.add(job);
    const l: Live = { job, receivedAt: this.timers.now(), started: false, abort: new AbortController() };
    if (job.ttlMs !== undefined) l.deadline = this.timers.setTimeout(() => this.expired(l), job.ttlMs);
    this.live.set(job.runId, l);
    return { kind: 'queued' };
  }

  /** The job's turn came: how to run it, or why it must not start (recorded so). */
  begin(job: RunJob): Turn {
    const l = this.live.get(job.runId);
    const waited = l ? this.timers.now() - l.receivedAt : 0;
    let why: string | undefined;
    if (!l) why = 'not started: the agent does not know this job';
    else if (l.cancelled) why = `not started: cancelled (${l.cancelled})`;
    else if (job.ttlMs !== undefined && waited >= job.ttlMs) {
      why = `not started: its deadline passed while it waited (${seconds(waited)} s; the controller stops waiting after ${seconds(job.ttlMs)} s)`;
    }
    if (why || !l) {
      this.journal.update(job.runId, { state: 'not-started', error: why });
      if (l) this.forget(l);
      return { kind: 'refused', why: why! };
    }
    l.started = true;
    this.journal.update(job.runId, { state: 'running' });
    return { kind: 'run', stops: { signal: l.abort.signal, halted: () => l.halted, taskTimeoutMs: job.taskTimeoutMs, exec: new TaskExec(this.exec), timers: this.timers } };
  }

  result(job: RunJob, r: TaskResult): void {
    this.journal.addResult(job.runId, r);
  }

  end(job: RunJob, ms: number, error?: string): void {
    this.journal.update(job.runId, { state: 'ended', ms, ...(error ? { error } : {}) });
    const l = this.live.get(job.runId);
    if (l) this.forget(l);
  }

  cancel(c: JobCancel): void {
    const l = this.live.get(c.runId);
    if (!l) {
      // Cancelled before it came (or after it ended): if it comes later, it is known and not run.
      if (!this.journal.get(c.runId)) this.journal.add({ runId: c.runId, tasks: [] }, 'not-started', `cancelled before it came: ${c.reason}`);
      return;
    }
    if (!l.started) l.cancelled ??= c.reason;
    else if (c.now) l.abort.abort(new Error(`cancelled: ${c.reason}`));
    else l.halted ??= `cancelled: ${c.reason}`;
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.live.size;
  }

  private expired(l: Live): void {
    l.deadline = undefined;
    if (l.started) l.abort.abort(new Error(`stopped: the controller stopped waiting for this job ${seconds(l.job.ttlMs!)} s after sending it`));
  }

  private forget(l: Live): void {
    this.timers.clearTimeout(l.deadline);
    this.live.delete(l.job.runId);
  }
}
