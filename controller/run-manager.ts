import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../common/log.js';
import type { FactsOverride, RenderedTask, TaskResult } from '../common/protocol.js';
import type { AgentHub } from './hub.js';
import type { PlannedSlot } from './drift-policy-var.js';
import { hostClean, recap, type Recap, type RunLabel, type RunOrigin } from './run-record.js';
import type { HostRun, LedgerEntry, RunRecord, Store } from './store.js';

export { recap, type Recap };

export type RunEvent =
  | { type: 'result'; host: string; result: TaskResult }
  | { type: 'host'; host: string; status: HostRun['status']; error?: string }
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

interface Lock {
  ready: Promise<void>;
  release: () => void;
}

/**
 * Fans a run out to its hosts in parallel, play after play. A host never runs two runs at once:
 * a run takes every one of its hosts' locks when it starts (FIFO per host, all taken in the same
 * tick, so two runs cannot wait on each other) and releases them when it ends. A host that
 * fails or is unreachable in one play is left out of the plays after it, as in Ansible.
 */
export class RunManager {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly emitters = new Map<string, EventEmitter>();
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
  ) {}

  /** Follows every run from now on; returns the function that stops it. */
  watch(w: RunWatcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /** A run holds or waits for this host's lock. */
  busy(host: string): boolean {
    return this.tails.has(host);
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
    const locks = Object.keys(run.hosts).map((h) => this.lock(h));
    this.log.info({ run: run.id, title: run.title, hosts: Object.keys(run.hosts), check: run.check, label: run.label }, 'run started');
    this.tell('started', run, spec);
    void (async () => {
      try {
        await Promise.all(locks.map((l) => l.ready));
        const offset: Record<string, number> = {};
        for (const play of spec.plays) {
          await Promise.all(
            Object.entries(play.hosts).map(([host, tasks]) => {
              const h = run.hosts[host];
              const base = offset[host] ?? 0;
              offset[host] = base + tasks.length;
              if (h.status === 'unreachable' || h.results.some((r) => r.status === 'failed')) return undefined;
              return this.runJob(run, host, tasks, base, em, play.factsOverride?.[host]);
            }),
          );
        }
        for (const [host, h] of Object.entries(run.hosts)) if (h.status !== 'unreachable') this.store.updateHost(run, host, { status: 'done' });
        if (!run.check) this.record(run, spec.ledger ?? {});
      } catch (e) {
        // A bug here must end this run, not the controller and every other run with it.
        this.log.error({ run: run.id, err: e }, 'run aborted');
      } finally {
        for (const l of locks) l.release();
        this.store.endRun(run);
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
      const clean = hostClean(run.hosts[host]);
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

  private lock(host: string): Lock {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ready = this.tails.get(host) ?? Promise.resolve();
    const tail = ready.then(() => held);
    this.tails.set(host, tail);
    void tail.then(() => {
      if (this.tails.get(host) === tail) this.tails.delete(host);
    });
    return { ready, release };
  }

  private runJob(run: RunRecord, host: string, tasks: RenderedTask[], base: number, em: EventEmitter, override?: FactsOverride): Promise<void> {
    const h = run.hosts[host];
    const jobId = `${run.id}.${base}`;
    const setStatus = (status: HostRun['status'], error?: string) => {
      this.store.updateHost(run, host, { status, ...(error ? { error } : {}) });
      em.emit('event', { type: 'host', host, status, ...(error ? { error } : {}) } satisfies RunEvent);
    };
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const sent = this.hub.dispatch(
        { runId: jobId, host, tasks, check: run.check, diff: run.diff, ...(override ? { factsOverride: override } : {}) },
        {
          onResult: (r) => {
            const result = { ...r, index: r.index + base };
            this.store.addResult(run, host, result);
            this.tell('result', run, host, result);
            em.emit('event', { type: 'result', host, result } satisfies RunEvent);
          },
          onEnd: (end) => {
            this.store.updateHost(run, host, { ms: (h.ms ?? 0) + end.ms, ...(end.error ? { error: end.error } : {}) });
            done();
          },
          onLost: (reason) => {
            this.log.warn({ run: run.id, job: jobId, host, reason }, 'host lost during a run');
            setStatus('unreachable', reason);
            done();
          },
        },
      );
      if (sent) {
        setStatus('running');
        timer = setTimeout(() => {
          this.hub.abandon(host, jobId);
          this.log.warn({ run: run.id, job: jobId, host, timeoutMs: this.jobTimeoutMs }, 'host gave no answer in time');
          setStatus('unreachable', `no answer within ${Math.round(this.jobTimeoutMs / 1000)} s`);
          done();
        }, this.jobTimeoutMs);
      } else {
        setStatus('unreachable', 'no agent connected');
        done();
      }
    });
  }
}
