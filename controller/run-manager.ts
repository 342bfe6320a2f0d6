import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../common/log.js';
import type { FactsOverride, RenderedTask, TaskResult } from '../common/protocol.js';
import { HostLocks } from './host-locks.js';
import type { AgentHub } from './hub.js';
import { RunControl, refuseBusy, stoppedBy, unsentResults, type Acquired } from './run-control.js';
import { sendJob, type JobSender } from './run-job.js';
import type { PlannedSlot } from './drift-policy-var.js';
import { recap, type Recap, type RunLabel, type RunOrigin, type RunStopped } from './run-record.js';
import type { HostRun, LedgerEntry, RunRecord, Store } from './store.js';

export { recap, type Recap };

export type RunEvent =
  | { type: 'result'; host: string; result: TaskResult }
  | { type: 'host'; host: string; status: HostRun['status']; error?: string }
  | { type: 'waiting'; host: string; run: string }
  | { type: 'end'; run: RunRecord };

export interface PlaySpec {
  name: string;
  /** Rendered task list per host of this play. */
  hosts: Record<string, RenderedTask[]>;
  /** host -> facts the inventory sets for it (`ansible_pkg_mgr`), sent with its job. */
  factsOverride?: Record<string, FactsOverride>;
}

export interface RunSpec {
  title: string;
  kind: RunRecord['kind'];
  /** Who asked: operator runs and scheduled ones are kept in history apart (default operator). */
  origin?: RunOrigin;
  check: boolean;
  diff: boolean;
  /** Plays run one after another, each fanned out to its hosts in parallel. */
  plays: PlaySpec[];
  /** host -> role slot -> what this run declares there; recorded when the run applied. */
  ledger?: Record<string, Record<string, LedgerEntry[]>>;
  /** Limit of a task without one of its own (`--task-timeout`); else the module's. */
  taskTimeoutMs?: number;
  /** How long a host may take for one play's tasks (`--job-timeout`); else the manager's. */
  jobTimeoutMs?: number;
  /** How long the run may wait for hosts busy with other runs (`--wait-timeout`); unbounded when left out. */
  waitTimeoutMs?: number;
  /** false: refused at once when a host is busy with another run (`--no-wait`). */
  wait?: boolean;
  /** host -> each role slot's tasks: the host's desired state once this run applied them cleanly. */
  desired?: Record<string, PlannedSlot[]>;
  /** `corrective` when the drift policy started it (default intentional). */
  label?: RunLabel;
}

/** Follows runs as they go (drift, metrics, the live view); a watcher that throws is logged and ignored. */
export interface RunWatcher {
  started?(run: RunRecord, spec: RunSpec): void;
  result?(run: RunRecord, host: string, result: TaskResult): void;
  ended?(run: RunRecord, spec: RunSpec): void;
}

/**
 * Fans a run out to its hosts in parallel, play after play. A host never runs two runs at once:
 * a run takes every one of its hosts' locks when it starts (HostLocks) and releases them when it
 * ends; while it waits it says for which run. A host that fails or is unreachable in one play is
 * left out of the plays after it, as in Ansible. A job the manager gives up (no answer in time,
 * agent gone) or a cancelled run's jobs are cancelled on the agents too.
 */
export class RunManager {
  private readonly locks = new HostLocks();
  private readonly emitters = new Map<string, EventEmitter>();
  private readonly controls = new Map<string, RunControl>();
  private readonly waits = new Map<string, { host: string; run: string }[]>();
  /** Set when the controller stops: runs going are left `running` for the next start to recover. */
  private detached = false;
  private readonly jobs: JobSender;
  private readonly watchers = new Set<RunWatcher>();

  /**
   * @param jobTimeoutMs how long a host may take for one play's task list before it is given up
   *   as unreachable (an agent that hangs must not hold its host's lock forever)
   */
  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly jobTimeoutMs = 3_600_000,
    private readonly log: Logger = silentLogger,
  ) {
    this.jobs = { store, hub, log, jobTimeoutMs, timers: new Set(), detached: () => this.detached };
  }

  /** Follows every run from now on; returns the function that stops it. */
  watch(w: RunWatcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /** A run holds or waits for this host's lock. */
  busy(host: string): boolean {
    return this.locks.busy([host]).length > 0;
  }

  private tell<K extends keyof RunWatcher>(what: K, ...args: Parameters<NonNullable<RunWatcher[K]>>): void {
    for (const w of this.watchers) {
      try {
        (w[what] as ((...a: typeof args) => void) | undefined)?.(...args);
      } catch (e) {
        this.log.error({ err: e, watcher: what }, 'run watcher failed');
      }
    }
  }

  start(spec: RunSpec): RunRecord {
    this.store.assertWritable();
    if (spec.wait === false) refuseBusy(this.locks.busy([...new Set(spec.plays.flatMap((p) => Object.keys(p.hosts)))]));
    const run: RunRecord = {
      id: randomUUID().slice(0, 8),
      title: spec.title,
      kind: spec.kind,
      origin: spec.origin ?? 'operator',
      check: spec.check,
      diff: spec.diff,
      createdAt: new Date().toISOString(),
      status: 'running',
      label: spec.label ?? 'intentional',
      hosts: {},
    };
    const tasks: Record<string, RenderedTask[]> = {};
    for (const play of spec.plays) {
      for (const [host, list] of Object.entries(play.hosts)) {
        (tasks[host] ??= []).push(...list);
        (run.hosts[host] ??= { status: 'pending', tasks: 0, results: [] }).tasks += list.length;
      }
    }
    this.store.beginRun(run, tasks);
    const em = new EventEmitter();
    em.setMaxListeners(100);
    this.emitters.set(run.id, em);
    const control = new RunControl();
    this.controls.set(run.id, control);
    const locks = Object.keys(run.hosts).map((h) => ({ host: h, ...this.locks.take(h, run.id) }));
    const waits = locks.flatMap((l) => (l.ahead ? [{ host: l.host, run: l.ahead }] : []));
    this.log.info({ run: run.id, title: run.title, hosts: Object.keys(run.hosts), check: run.check, label: run.label, ...(waits.length ? { waitingFor: waits } : {}) }, 'run started');
    this.tell('started', run, spec);
    if (waits.length) this.waits.set(run.id, waits);
    void (async () => {
      let got: Acquired | undefined;
      try {
        got = await control.acquire(locks, spec.waitTimeoutMs);
        if (this.detached) return;
        this.waits.delete(run.id);
        const offset: Record<string, number> = {};
        for (const play of got === 'held' ? spec.plays : []) {
          if (control.cancelled || this.detached) break;
          await Promise.all(
            Object.entries(play.hosts).map(([host, tasks]) => {
              const h = run.hosts[host];
              const base = offset[host] ?? 0;
              offset[host] = base + tasks.length;
              if (h.status === 'unreachable' || h.results.some((r) => r.status === 'failed')) return undefined;
              return sendJob(this.jobs, { run, host, tasks, base, spec, control, override: play.factsOverride?.[host] }, (e) => {
                if (e.type === 'result') this.tell('result', run, e.host, e.result);
                em.emit('event', e);
              });
            }),
          );
        }
        if (this.detached) return;
        run.stopped = stoppedBy(got, control, waits, spec.waitTimeoutMs);
        if (run.stopped) this.skipUnsent(run, spec, run.stopped, em);
        for (const [host, h] of Object.entries(run.hosts)) if (h.status !== 'unreachable' && (!run.stopped || h.status === 'running')) this.store.updateHost(run, host, { status: 'done' });
        if (!run.check && got === 'held') this.record(run, spec.ledger ?? {});
      } catch (e) {
        // A bug here must end this run, not the controller and every other run with it.
        this.log.error({ run: run.id, err: e }, 'run aborted');
      } finally {
        // eslint-disable-next-line no-unsafe-finally -- a stopping controller records nothing more
        if (this.detached) return;
        for (const l of locks) l.release();
        this.controls.delete(run.id);
        this.waits.delete(run.id);
        this.store.endRun(run, run.stopped ? 'cancelled' : 'done');
        this.logEnd(run);
        this.tell('ended', run, spec);
        em.emit('event', { type: 'end', run } satisfies RunEvent);
        this.emitters.delete(run.id);
      }
    })();
    return run;
  }

  /**
   * After a clean run a slot owns exactly what it declared; after a failed or partial one it
   * owns both the old and the new, so what was not retired yet is retired next time.
   */
  private record(run: RunRecord, ledger: Record<string, Record<string, LedgerEntry[]>>): void {
    for (const [host, slots] of Object.entries(ledger)) {
      const h = run.hosts[host];
      const clean = !run.stopped && h.status === 'done' && !h.error && h.results.length === h.tasks && h.results.every((r) => r.status !== 'failed');
      for (const [slot, entries] of Object.entries(slots)) {
        const next = clean ? entries : [...new Map([...this.store.ledger(host, slot), ...entries].map((e) => [e.id, e])).values()];
        this.store.setLedger(host, slot, next);
      }
    }
  }

  private logEnd(run: RunRecord): void {
    const totals: Recap = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
    const failed: string[] = [];
    for (const [host, r] of Object.entries(recap(run))) {
      for (const k of Object.keys(totals) as (keyof Recap)[]) totals[k] += r[k];
      if (r.failed || r.unreachable) failed.push(host);
    }
    const ms = Date.parse(run.finishedAt!) - Date.parse(run.createdAt);
    const line = { run: run.id, title: run.title, hosts: Object.keys(run.hosts), ...totals, ...(failed.length ? { failedHosts: failed } : {}), ms };
    if (failed.length) this.log.warn(line, 'run ended with failures');
    else this.log.info(line, 'run ended');
  }

  /** Live events of a run still going; undefined once it has ended. */
  events(id: string): EventEmitter | undefined {
    return this.emitters.get(id);
  }

  /**
   * The controller stops: runs going are left as they are (`running` in the store, their
   * journals flushed by the store's close), so the next start marks them interrupted and
   * completes them from the agents' journals, as after a crash. Nothing is recorded after this.
   */
  detach(): void {
    this.detached = true;
    for (const t of this.jobs.timers) clearTimeout(t);
    this.jobs.timers.clear();
    for (const c of this.controls.values()) c.detach();
  }

  /** The hosts a live run still waits for, and the run ahead of it on each. */
  waiting(id: string): { host: string; run: string }[] {
    return this.waits.get(id) ?? [];
  }

  /**
   * Stops a live run: tasks running now stop at their next task boundary (killed with `now`),
   * the rest are skipped. False when the run is not going (any more).
   */
  cancel(id: string, now: boolean, reason = 'cancelled by an operator (ctl runs cancel)'): boolean {
    const control = this.controls.get(id);
    if (!control) return false;
    control.cancel(reason, now);
    this.log.warn({ run: id, now, jobs: [...control.jobs.keys()] }, 'run cancelled');
    for (const [job, host] of control.jobs) this.hub.cancel(host, job, reason, now);
    return true;
  }

  /** Every task the stopped run did not send is recorded `skipped`, with why. */
  private skipUnsent(run: RunRecord, spec: RunSpec, stopped: RunStopped, em: EventEmitter): void {
    const offset: Record<string, number> = {};
    for (const play of spec.plays) {
      for (const [host, tasks] of Object.entries(play.hosts)) {
        const base = offset[host] ?? 0;
        offset[host] = base + tasks.length;
        const h = run.hosts[host];
        if (h.status === 'unreachable') continue;
        for (const result of unsentResults(tasks, base, h.results, `not run: ${stopped.message}`)) {
          this.store.addResult(run, host, result);
          em.emit('event', { type: 'result', host, result } satisfies RunEvent);
        }
      }
    }
  }
}

