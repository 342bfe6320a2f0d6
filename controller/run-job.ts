import type { Logger } from '../common/log.js';
import type { FactsOverride, RenderedTask } from '../common/protocol.js';
import type { AgentHub } from './hub.js';
import { jobId } from './job-id.js';
import { secondsText, type RunControl } from './run-control.js';
import type { RunEvent, RunSpec } from './run-manager.js';
import type { HostRun, RunRecord, Store } from './store.js';

/** What sending jobs needs from the run manager. */
export interface JobSender {
  store: Store;
  hub: AgentHub;
  log: Logger;
  /** The manager's job timeout, for runs that set none. */
  jobTimeoutMs: number;
  /** Job timeouts pending, cleared when the controller stops. */
  timers: Set<NodeJS.Timeout>;
  /** True once the controller stops: nothing more is recorded. */
  detached(): boolean;
}

/** One host's task list of one play of a run. */
export interface JobSpec {
  run: RunRecord;
  host: string;
  tasks: RenderedTask[];
  /** Where the list starts in the host's whole task list (results are numbered from there). */
  base: number;
  spec: RunSpec;
  control: RunControl;
  override?: FactsOverride;
}

/**
 * Sends one job to its agent and records what comes back, until its end, the agent's loss or
 * the job timeout. A job given up (no answer in time, agent gone) is cancelled on the agent:
 * at once, or when the agent is back; it carries its deadline (`ttlMs`), so the agent stops it
 * by itself too.
 */
export function sendJob(d: JobSender, j: JobSpec, emit: (e: RunEvent) => void): Promise<void> {
  const { run, host, tasks, base, spec, control, override } = j;
  const h = run.hosts[host];
  const id = jobId(run.id, base);
  const timeoutMs = spec.jobTimeoutMs ?? d.jobTimeoutMs;
  const setStatus = (status: HostRun['status'], error?: string) => {
    d.store.updateHost(run, host, { status, ...(error ? { error } : {}) });
    emit({ type: 'host', host, status, ...(error ? { error } : {}) });
  };
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      if (timer) d.timers.delete(timer);
      control.jobs.delete(id);
      resolve();
    };
    const job = { runId: id, run: run.id, host, tasks, check: run.check, diff: run.diff, ttlMs: timeoutMs, ...(spec.taskTimeoutMs ? { taskTimeoutMs: spec.taskTimeoutMs } : {}), ...(override ? { factsOverride: override } : {}) };
    const sent = d.hub.dispatch(
      job,
      {
        onResult: (r) => {
          if (d.detached()) return;
          const result = { ...r, index: r.index + base };
          d.store.addResult(run, host, result);
          emit({ type: 'result', host, result });
        },
        onEnd: (end) => {
          if (d.detached()) return;
          d.store.updateHost(run, host, { ms: (h.ms ?? 0) + end.ms, ...(end.error ? { error: end.error } : {}) });
          done();
        },
        onLost: (reason) => {
          if (d.detached()) return;
          d.log.warn({ run: run.id, job: id, host, reason }, 'host lost during a run');
          // Given up: when the agent comes back, whatever of the job is left must not run.
          d.hub.cancel(host, id, `given up by the controller (${reason})`, true, timeoutMs);
          setStatus('unreachable', reason);
          done();
        },
      },
    );
    if (sent) {
      control.jobs.set(id, host);
      setStatus('running');
      timer = setTimeout(() => {
        d.hub.abandon(host, id);
        const why = `no answer within ${secondsText(timeoutMs)} s`;
        d.hub.cancel(host, id, `given up by the controller (${why})`, true, timeoutMs);
        d.log.warn({ run: run.id, job: id, host, timeoutMs }, 'host gave no answer in time');
        setStatus('unreachable', why);
        done();
      }, timeoutMs);
      d.timers.add(timer);
    } else {
      setStatus('unreachable', 'no agent connected');
      done();
    }
  });
}
