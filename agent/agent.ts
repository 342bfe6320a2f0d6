import type { Exec } from '../common/exec.js';
import type { Logger } from '../common/log.js';
import type { HostFacts, Health, RunJob, TaskStatus } from '../common/protocol.js';
import { Backoff, Connection, DEFINITIVE_BACKOFF, REFUSED_BACKOFF, type AgentSocket, type BackoffOptions } from './connection.js';
import { DriftAgent, type DriftAgentOptions } from './drift-agent.js';
import { gatherFacts, health } from './facts.js';
import { JobControl } from './job-control.js';
import { JobJournal } from './job-journal.js';
import { JobQueue } from './job-queue.js';
import { KernelState } from './kstate/kernel-state.js';
import type { AnyModule, ModuleContext } from './module.js';
import { MODULES } from './modules/index.js';
import { runTasks } from './runner.js';
import { realTimers, type Timers } from './timers.js';

/** What the agent offers a part that runs beside its jobs (the health checker). */
export interface AgentHost {
  socket: AgentSocket;
  /** Runs `fn` in the job queue, between runs, with a module context as a run gets it (not check mode). */
  exclusive<T>(what: string, fn: (ctx: ModuleContext) => Promise<T>): Promise<T>;
}

/** A part that runs beside the agent's jobs: agent/health-agent.ts. */
export interface AgentExtension {
  /** Once, when the agent starts. */
  attach(host: AgentHost): void;
  /** At every (re)connect. */
  connected(): void;
  /** Fields it adds to the module context of every job. */
  context(): Partial<ModuleContext>;
}

export interface AgentOptions {
  name: string;
  /** Host root under which task paths are resolved ('/' on a real host). */
  root: string;
  /** Makes the socket (not yet connected); called once, by start(). */
  connect: () => AgentSocket;
  exec: Exec;
  log: Logger;
  timers?: Timers;
  /** Jitter of the reconnect backoff. */
  random?: () => number;
  gatherFacts?: (name: string, root: string, exec: Exec) => Promise<HostFacts>;
  health?: (busy: number) => Health;
  modules?: ReadonlyMap<string, AnyModule>;
  heartbeatMs?: number;
  refusedBackoff?: BackoffOptions;
  /** Backoff after a refusal the controller calls definitive (revoked, rejected). */
  definitiveBackoff?: BackoffOptions;
  /** Backoff between attempts at gathering facts after one failed. */
  factsBackoff?: BackoffOptions;
  /** The agent's state folder (job journal); in memory only when left out. */
  stateDir?: string;
  /** Real-server health checks (a director's agent). */
  healthChecks?: AgentExtension;
  /** Drift watch interval (default 5 s; 0: the desired state is held, not watched). The watch needs `stateDir`. */
  driftIntervalMs?: number;
  /** Test seams of the drift watch (its clock, `ip monitor`, its intervals). */
  drift?: Pick<DriftAgentOptions, 'timers' | 'kernelEvents' | 'resumeAfterMs' | 'slowIntervalMs'>;
}

/** Work of the agent's own (a health-driven apply) queued between runs. */
interface LocalJob {
  local: true;
  what: string;
  run: () => Promise<void>;
}

const FACTS_BACKOFF: BackoffOptions = { baseMs: 5000, maxMs: 300_000, factor: 2, jitter: 0.5 };

/**
 * One agent: connects out to the controller, sends facts at every (re)connect and heartbeats,
 * and runs the task lists it is sent one at a time, streaming each result.
 */
export class Agent {
  private conn: Connection | undefined;
  private facts: HostFacts | undefined;
  private gathering: Promise<void> | undefined;
  private factsRetry: unknown;
  private heartbeat: unknown;
  private busy = 0;
  private drift: DriftAgent | undefined;
  private readonly timers: Timers;
  private readonly factsBackoff: Backoff;
  private readonly queue = new JobQueue<RunJob | LocalJob>(
    (job) => ('local' in job ? job.run() : this.runJob(job)),
    (job, e) => this.o.log.error({ job: 'local' in job ? job.what : job.runId, err: e }, 'job crashed'),
  );

  /** Job ids run once, deadlines, cancels, and the journal a restarted controller asks for. */
  readonly journal: JobJournal;
  private readonly jobs: JobControl;

  constructor(private readonly o: AgentOptions) {
    this.timers = o.timers ?? realTimers;
    this.factsBackoff = new Backoff(o.factsBackoff ?? FACTS_BACKOFF, o.random);
    this.journal = new JobJournal({ stateDir: o.stateDir, log: o.log });
    this.jobs = new JobControl(this.journal, this.timers, o.exec);
  }

  start(): void {
    const socket = this.o.connect();
    this.conn = new Connection(socket, this.timers, new Backoff(this.o.refusedBackoff ?? REFUSED_BACKOFF, this.o.random), this.o.log, {
      connected: () => {
        void this.sendFacts();
        this.o.healthChecks?.connected();
        this.drift?.connected();
      },
      disconnected: () => this.stopFactsRetry(),
    }, new Backoff(this.o.definitiveBackoff ?? DEFINITIVE_BACKOFF, this.o.random));
    // One run at a time on a host; the controller also serialises, this is the agent's own guard.
    socket.on('run:start', (job) => this.receive(job));
    socket.on('run:cancel', (c) => this.jobs.cancel(c));
    socket.on('job:journal', (q, ack) => {
      if (typeof ack === 'function') ack(this.journal.forRun(String(q?.run)));
    });
    this.o.healthChecks?.attach({ socket, exclusive: (what, fn) => this.exclusive(what, fn) });
    if (this.o.stateDir !== undefined) this.startDrift(socket, this.o.stateDir);
    this.heartbeat = this.timers.setInterval(() => {
      if (socket.connected) socket.emit('heartbeat', this.health());
    }, this.o.heartbeatMs ?? 5000);
    socket.connect();
  }

  stop(): Promise<void> {
    this.stopFactsRetry();
    this.timers.clearInterval(this.heartbeat);
    this.conn?.close();
    return Promise.all([this.journal.flush(), this.drift?.stop()]).then(() => undefined);
  }

  /** The held desired state and its watch (agent/drift-agent.ts). */
  private startDrift(socket: AgentSocket, stateDir: string): void {
    const drift = new DriftAgent({
      stateDir,
      root: this.o.root,
      exec: this.o.exec,
      log: this.o.log.child({ component: 'drift' }),
      modules: this.o.modules ?? MODULES,
      facts: async () => (this.facts ??= await this.gather()),
      // The health checker's adjustments: a real server it inhibited is not drift.
      context: () => this.o.healthChecks?.context() ?? {},
      sink: {
        get connected() {
          return socket.connected;
        },
        findings: (r) => socket.emit('drift:findings', r),
      },
      intervalMs: this.o.driftIntervalMs,
      ...this.o.drift,
    });
    this.drift = drift;
    socket.on('desired:set', (state) => void drift.setDesired(state));
    void drift.start();
  }

  /** The drift watch, when the agent has a state folder. */
  get driftAgent(): DriftAgent | undefined {
    return this.drift;
  }

  /**
   * Runs `fn` in the job queue, so that it and the runs never write the host's kernel tables at
   * the same time (one ipvsadm writer at a time).
   */
  exclusive<T>(what: string, fn: (ctx: ModuleContext) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        local: true,
        what,
        run: async () => {
          try {
            this.facts ??= await this.gather();
            const ctx: ModuleContext = { root: this.o.root, check: false, exec: this.o.exec, facts: this.facts, kernel: new KernelState({ exec: this.o.exec }), ...this.o.healthChecks?.context() };
            // The drift watch stands aside while this writes the host's tables.
            resolve(this.drift ? await this.drift.during(() => fn(ctx)) : await fn(ctx));
          } catch (e) {
            reject(e as Error);
          }
        },
      });
    });
  }

  /** Resolves when every job received so far has ended. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private health(): Health {
    return (this.o.health ?? health)(this.busy);
  }

  private gather(): Promise<HostFacts> {
    return (this.o.gatherFacts ?? gatherFacts)(this.o.name, this.o.root, this.o.exec);
  }

  /**
   * Fresh facts at every (re)connect: addresses and packages may have changed meanwhile. A
   * failure is logged and tried again later; it never escapes as a rejection.
   */
  private sendFacts(): Promise<void> {
    if (!this.gathering) {
      const p = this.gatherAndSend();
      this.gathering = p;
      void p.finally(() => {
        if (this.gathering === p) this.gathering = undefined;
      });
    }
    return this.gathering;
  }

  private async gatherAndSend(): Promise<void> {
    try {
      const facts = await this.gather();
      this.facts = facts;
      this.factsBackoff.reset();
      const socket = this.conn!.socket;
      if (!socket.connected) return;
      socket.emit('facts', facts);
      socket.emit('heartbeat', this.health());
      this.o.log.info({ os: `${facts.os.distro} ${facts.os.release}`.trim(), pkgManager: facts.pkgManager, initSystem: facts.initSystem }, 'facts sent');
    } catch (e) {
      const delay = this.factsBackoff.next();
      this.o.log.error({ err: e, retryInMs: Math.round(delay) }, 'gathering facts failed');
      this.stopFactsRetry();
      this.factsRetry = this.timers.setTimeout(() => {
        this.factsRetry = undefined;
        if (this.conn?.socket.connected) void this.sendFacts();
      }, delay);
    }
  }

  private stopFactsRetry(): void {
    this.timers.clearTimeout(this.factsRetry);
    this.factsRetry = undefined;
  }

  /** A job id is run once: one known already is answered from the journal, not run again. */
  private receive(job: RunJob): void {
    const arrival = this.jobs.receive(job);
    if (arrival.kind === 'queued') return this.queue.push(job);
    const rec = arrival.record;
    this.o.log.warn({ job: job.runId, state: rec.state }, 'job received again; not run again');
    if (rec.state !== 'ended' && rec.state !== 'not-started') return;
    const socket = this.conn!.socket;
    for (const r of rec.results) socket.emit('task:result', job.runId, r);
    socket.emit('run:end', { runId: job.runId, host: this.o.name, ms: rec.ms ?? 0, error: `job ${job.runId} came again and was not run again${rec.error ? ` (${rec.error})` : ''}` });
  }

  private async runJob(job: RunJob): Promise<void> {
    const socket = this.conn!.socket;
    const started = this.timers.now();
    const log = this.o.log.child({ job: job.runId });
    const turn = this.jobs.begin(job);
    if (turn.kind === 'refused') {
      log.warn({ reason: turn.why }, 'job not started');
      socket.emit('run:end', { runId: job.runId, host: this.o.name, ms: 0, error: turn.why });
      return;
    }
    const exec = turn.stops.exec.exec;
    this.busy = 1;
    log.info({ tasks: job.tasks.length, check: job.check, ...(job.factsOverride ? { factsOverride: job.factsOverride } : {}) }, 'run started');
    if (!job.check) await this.drift?.beforeApply();
    try {
      this.facts ??= await this.gather();
      const facts = { ...this.facts, ...job.factsOverride };
      const ctx = { root: this.o.root, check: job.check, exec, facts, kernel: new KernelState({ exec }), ...this.o.healthChecks?.context() };
      const results = await runTasks(job.tasks, this.o.modules ?? MODULES, ctx, { check: job.check, diff: job.diff, job: turn.stops }, (r) => {
        this.jobs.result(job, r);
        socket.emit('task:result', job.runId, r);
      });
      const ms = this.timers.now() - started;
      this.jobs.end(job, ms);
      socket.emit('run:end', { runId: job.runId, host: this.o.name, ms });
      const counts: Partial<Record<TaskStatus, number>> = {};
      for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
      log.info({ tasks: job.tasks.length, ...counts, ms: Math.round(ms) }, 'run ended');
    } catch (e) {
      const ms = this.timers.now() - started;
      this.jobs.end(job, ms, (e as Error).message);
      socket.emit('run:end', { runId: job.runId, host: this.o.name, ms, error: (e as Error).message });
      log.error({ tasks: job.tasks.length, err: e, ms: Math.round(ms) }, 'run failed');
    } finally {
      this.busy = 0;
      if (!job.check) this.drift?.afterApply();
    }
  }
}
