import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DesiredStateSchema, heldTasks, type DesiredState, type DriftReport } from '../common/desired-state.js';
import type { Finding } from '../common/findings.js';
import type { Exec } from '../common/exec.js';
import type { Logger } from '../common/log.js';
import type { HostFacts } from '../common/protocol.js';
import { readText, writeAtomic } from './fsutil.js';
import { KernelState } from './kstate/kernel-state.js';
import type { AnyModule, ModuleContext } from './module.js';
import { checkFindings } from './watch/check.js';
import { DriftWatcher, type FindingsDiff } from './watch/drift-watcher.js';
import { KernelEvents, type KernelEventsOptions } from './watch/kernel-events.js';
import { realTimers, type Timers } from './watch/timers.js';

export const DESIRED_STATE_FILE = 'desired.json';

const taskKey = (t: { role?: string; name?: string; task?: string; module: string }) => JSON.stringify([t.role ?? '', t.name ?? t.task, t.module]);

/** Where the watch sends what it finds; `connected` false: keep it for the next connect. */
export interface DriftSink {
  readonly connected: boolean;
  findings(report: DriftReport): void;
}

export interface DriftAgentOptions {
  stateDir: string;
  root: string;
  exec: Exec;
  log: Logger;
  modules: ReadonlyMap<string, AnyModule>;
  /** The host's facts (gathered once, then kept by the agent). */
  facts(): Promise<HostFacts>;
  /** What the agent adds to every task's context (the health checker's adjusted IPVS table). */
  context?: () => Partial<ModuleContext>;
  sink: DriftSink;
  /** Between checks (default 5 s); 0 turns the watch off (the state is still held). */
  intervalMs?: number;
  /**
   * Tasks of modules marked `slowCheck` (their read starts a command of its own: packages,
   * services, firewall) are checked at most this often (default 60 s), and at once after a new
   * state; between those checks their last findings stand.
   */
  slowIntervalMs?: number;
  /** After an applying job, how long to wait for the controller's push before watching again anyway. */
  resumeAfterMs?: number;
  timers?: Timers;
  /** `ip monitor` (tests give a fake one). */
  kernelEvents?: (onChange: KernelEventsOptions['onChange'], onLog: (msg: string) => void) => Pick<KernelEvents, 'start' | 'stop'>;
}

/**
 * The agent's drift watch: holds the desired state the controller pushes (in the state folder,
 * so it survives restarts and a controller that is away), re-checks it in check mode on an
 * interval and at once on kernel events, and sends the findings whenever they change. Applying
 * jobs pause it: a half-applied host is never reported, and neither is a host checked against
 * the state it is leaving (the watch waits for the push that ends the run).
 */
export class DriftAgent {
  private held: DesiredState | undefined;
  private watcher: DriftWatcher | undefined;
  private events: Pick<KernelEvents, 'start' | 'stop'> | undefined;
  private lastReport: DriftReport | undefined;
  private applying = 0;
  /** The agent's own applies going (a health checker's weight change). */
  private local = 0;
  private resumeTimer: unknown;
  private lastError: string | undefined;
  private pushes: Promise<void> = Promise.resolve();
  /** The revision the last check ran against (the held state may change during a check). */
  private checkedRevision = 0;
  /** Each new state is counted; the first check of each is sent even when its findings equal the last ones. */
  private stateGen = 0;
  private reportedGen = 0;
  /** When the slow tasks were last checked, for which state, and what they found. */
  private slow: { at: number; gen: number; findings: Finding[] } | undefined;
  private readonly timers: Timers;
  private readonly intervalMs: number;

  constructor(private readonly o: DriftAgentOptions) {
    this.timers = o.timers ?? realTimers;
    this.intervalMs = o.intervalMs ?? 5000;
  }

  get file(): string {
    return path.join(this.o.stateDir, DESIRED_STATE_FILE);
  }

  /** What is held now. */
  get state(): DesiredState | undefined {
    return this.held;
  }

  /** Loads the held state, if any, and starts watching it. A bad file is logged and left for an operator. */
  async start(): Promise<void> {
    const text = await readText(this.file).catch((e: Error) => {
      this.o.log.error({ file: this.file, err: e.message }, 'cannot read the held desired state');
      return null;
    });
    if (text !== null) {
      let parsed;
      try {
        parsed = DesiredStateSchema.safeParse(JSON.parse(text));
      } catch (e) {
        parsed = { success: false as const, error: e as Error };
      }
      if (parsed.success) this.held = parsed.data;
      else this.o.log.error({ file: this.file, err: parsed.error.message.split('\n')[0] }, 'held desired state is not valid; waiting for the controller to push it again');
    }
    this.watch();
  }

  async stop(): Promise<void> {
    this.timers.clearTimeout(this.resumeTimer);
    await this.unwatch();
  }

  /** The controller's push: kept in the state folder, then checked at once. Ends the pause of an applying run. */
  setDesired(raw: unknown): Promise<void> {
    // One push at a time, in order: a push at connect and one at a run's end may cross.
    const p = this.pushes.then(() => this.takeDesired(raw));
    this.pushes = p.catch(() => {});
    return p;
  }

  /** Resolves when every push received so far has been taken. */
  pushed(): Promise<void> {
    return this.pushes;
  }

  private async takeDesired(raw: unknown): Promise<void> {
    const r = DesiredStateSchema.safeParse(raw);
    if (!r.success) {
      this.o.log.error({ err: r.error.issues[0]?.message, field: r.error.issues[0]?.path.join('.') }, 'desired state from the controller refused');
      return;
    }
    const next = r.data;
    const changed = JSON.stringify(next) !== JSON.stringify(this.held);
    if (changed) {
      try {
        await fs.mkdir(this.o.stateDir, { recursive: true, mode: 0o700 });
        await writeAtomic(this.file, JSON.stringify(next) + '\n', 0o600);
      } catch (e) {
        // Still watched from memory; only a restart before the next push loses it.
        this.o.log.error({ file: this.file, err: (e as Error).message }, 'cannot keep the desired state in the state folder');
      }
      this.held = next;
      this.stateGen++;
      this.o.log.info({ revision: next.revision, slots: next.slots.map((s) => s.slot), tasks: heldTasks(next).length }, 'desired state held');
    }
    const paused = this.applying > 0;
    this.applying = 0;
    this.timers.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    if (!heldTasks(next).length) {
      await this.unwatch();
      // Nothing is declared any more: whatever the controller has open for this host is resolved.
      this.send({ all: [], first: true, revision: next.revision, at: this.timers.now() });
      return;
    }
    if (!this.watcher) this.watch();
    else if (paused && !this.local) this.watcher.resume();
    else if (changed) this.watcher.kick();
  }

  /** Before an applying job: no check until the run is over (resolves when a check under way ended). */
  async beforeApply(): Promise<void> {
    this.applying++;
    this.timers.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    await this.watcher?.pause();
  }

  /** After an applying job: the controller's push resumes the watch; this is the fallback should none come. */
  afterApply(): void {
    this.timers.clearTimeout(this.resumeTimer);
    this.resumeTimer = this.timers.setTimeout(() => {
      this.resumeTimer = undefined;
      if (!this.applying) return;
      this.applying = 0;
      this.o.log.warn({ afterMs: this.resumeAfterMs }, 'no desired state came after the run; watching the one held');
      if (!this.local) this.watcher?.resume();
    }, this.resumeAfterMs);
  }

  /** Pauses the watch while the agent applies something of its own, and checks at once after. */
  async during<T>(fn: () => Promise<T>): Promise<T> {
    this.local++;
    await this.watcher?.pause();
    try {
      return await fn();
    } finally {
      this.local--;
      if (!this.local && !this.applying) this.watcher?.resume();
    }
  }

  /** (Re)connected: the controller learns the current findings at once. */
  connected(): void {
    if (this.lastReport) this.o.sink.findings({ ...this.lastReport, first: false });
  }

  private get resumeAfterMs(): number {
    return this.o.resumeAfterMs ?? 300_000;
  }

  private watch(): void {
    if (this.watcher || !this.held || !heldTasks(this.held).length || this.intervalMs <= 0) return;
    this.watcher = new DriftWatcher({
      intervalMs: this.intervalMs,
      timers: this.timers,
      check: () => this.check(),
      onDiff: (d) => this.diff(d),
      onError: (e) => {
        if (e.message !== this.lastError) this.o.log.warn({ err: e.message }, 'drift check failed');
        this.lastError = e.message;
      },
    });
    const make = this.o.kernelEvents ?? ((onChange, onLog) => new KernelEvents({ onChange, onLog, timers: this.timers }));
    this.events = make(
      () => this.watcher?.kick(),
      (msg) => this.o.log.warn(msg),
    );
    this.events.start();
    if (this.applying || this.local) void this.watcher.pause();
    this.watcher.start();
  }

  private async unwatch(): Promise<void> {
    const [w, ev] = [this.watcher, this.events];
    this.watcher = this.events = undefined;
    await ev?.stop();
    await w?.stop();
  }

  private async check() {
    const held = this.held!;
    const gen = this.stateGen;
    const facts = { ...(await this.o.facts()), ...held.factsOverride };
    const kernel = new KernelState({ exec: this.o.exec });
    const extra = this.o.context?.() ?? {};
    const now = this.timers.now();
    const all = heldTasks(held);
    const isSlow = (t: (typeof all)[number]) => this.o.modules.get(t.module)?.slowCheck === true;
    const slowDue = !this.slow || this.slow.gen !== gen || now - this.slow.at >= (this.o.slowIntervalMs ?? 60_000);
    const tasks = slowDue ? all : all.filter((t) => !isSlow(t));
    const checked = await checkFindings(tasks, this.o.modules, { root: this.o.root, check: true, exec: this.o.exec, facts, kernel, ...extra });
    if (slowDue) {
      const slowTasks = new Set(all.filter(isSlow).map(taskKey));
      this.slow = { at: now, gen, findings: checked.filter((f) => slowTasks.has(taskKey(f))) };
    }
    const findings = slowDue ? checked : [...checked, ...this.slow!.findings];
    this.lastError = undefined;
    this.checkedRevision = held.revision;
    // The controller drops reports of an older state: tell it this one was checked, changed or not.
    if (gen !== this.reportedGen) {
      this.reportedGen = gen;
      this.send({ all: findings, first: false, revision: held.revision, at: this.timers.now() });
    }
    return findings;
  }

  private diff(d: FindingsDiff): void {
    const revision = this.checkedRevision;
    if (d.appeared.length || d.changed.length) this.o.log.info({ found: [...d.appeared, ...d.changed].slice(0, 10).map((f) => f.text), open: d.all.length }, 'drift found');
    if (d.resolved.length) this.o.log.info({ resolved: d.resolved.slice(0, 10).map((f) => f.text), open: d.all.length }, 'drift resolved');
    this.send({ all: d.all, first: d.first, revision, at: d.at });
  }

  private send(report: DriftReport): void {
    this.lastReport = report;
    if (this.o.sink.connected) this.o.sink.findings(report);
  }
}
