import type { Exec } from '../../common/exec.js';
import { serviceKey, type VirtualService } from '../ipvs/table.js';
import { adjust, changedRealServers, declaredWeights, drainTransitions, weightsOf, type Adjusted, type HealthView, type RealServerChange } from './adjust.js';
import { runCheck as runAnyCheck } from './checks/index.js';
import { healthConfig, probeSpecs, type HealthArgs, type HealthConfig, type ServiceHealth } from './config.js';
import { previewAdjusted } from './preview.js';
import { liveWeight, stepQuorum, type HealthStates } from './quorum.js';
import { CheckScheduler, type PersistedProbe, type ProbeSpec, type RunCheck } from './scheduler.js';
import { Coalescer } from './coalesce.js';
import { buildSnapshot, type HealthSnapshot } from './snapshot.js';
import { loadHealthState, persistedProbes, saveHealthState, HEALTH_STATE_VERSION, type HealthStateFile } from './state-file.js';
import { probeId, systemClock, type Clock, type HealthTransition, type TimerHandle } from './types.js';

export interface HealthMonitorOptions {
  /**
   * Puts the adjusted table into the kernel. `services` is every configured service, adjusted;
   * `changed` the real servers whose weight or presence moved since the last table the monitor
   * handed out. Called one at a time; a rejection is retried after applyRetryMs.
   */
  apply: (services: VirtualService[], changed: RealServerChange[]) => Promise<void>;
  /** Every transition, in order: real server up/down, quorum, sorry server, drain. */
  onTransition?: (t: HealthTransition) => void;
  /** Failures that stop nothing: an apply or a state-file write that failed, a state file that cannot be read. */
  onError?: (e: Error) => void;
  /** The agent's state folder; without it nothing is kept across restarts. */
  stateDir?: string;
  clock?: Clock;
  /** Defaults to the real checkers; exec checks through `exec` (the one exec helper by default). */
  runCheck?: RunCheck;
  exec?: Exec;
  applyRetryMs?: number;
}

export const DEFAULT_SOURCE = 'ipvs';

/**
 * The health checker of a director: runs every real server's check, keeps quorum and the sorry
 * server, and hands the health-adjusted table to `apply` whenever it changes. Configured from
 * the ipvs task's arguments; keeps its configuration and states in the state folder.
 */
export class HealthMonitor {
  private readonly clock: Clock;
  private readonly scheduler: CheckScheduler;
  private readonly sources = new Map<string, HealthConfig>();
  private config: HealthConfig = { services: [] };
  private drained = new Set<string>();
  private readonly quorumLost = new Set<string>();
  /** The table as last handed out (applied, or returned by configure), by probeId. */
  private applied = new Map<string, number | null>();
  private readonly applier = new Coalescer(() => this.applyOnce());
  private readonly writer = new Coalescer(() => this.writeState());
  private retry: TimerHandle | undefined;

  constructor(private readonly opts: HealthMonitorOptions) {
    this.clock = opts.clock ?? systemClock;
    const run = opts.runCheck ?? ((spec: ProbeSpec) => runAnyCheck(spec.check, spec.target, { exec: opts.exec }));
    this.scheduler = new CheckScheduler({
      clock: this.clock,
      runCheck: run,
      onTransition: (t) => {
        this.opts.onTransition?.(t);
        this.changed();
      },
    });
  }

  /** Reloads the saved configuration and states; true when there was some. Call before start. */
  async restore(): Promise<boolean> {
    if (!this.opts.stateDir) return false;
    const saved = await loadHealthState(this.opts.stateDir).catch((e: Error) => {
      this.opts.onError?.(e);
      return null;
    });
    if (!saved) return false;
    for (const [source, cfg] of Object.entries(saved.sources)) this.sources.set(source, cfg);
    this.drained = new Set(saved.drained);
    for (const s of saved.quorumLost) this.quorumLost.add(s);
    this.rebuild(saved.probes);
    // What the kernel holds now is unknown: compare with the declaration, so anything health changed is applied again.
    this.applied = declaredWeights(this.config);
    this.changed();
    return true;
  }

  /**
   * Sets the services one source (an ipvs task) declares, replacing what it declared before.
   * Returns the adjusted table of these services, which the caller puts in place itself (the
   * ipvs module's run), so it counts as handed out.
   */
  configure(args: HealthArgs, source = DEFAULT_SOURCE): Adjusted {
    const cfg = healthConfig(args);
    this.sources.set(source, cfg);
    this.rebuild();
    this.evaluateQuorum();
    const all = this.adjusted();
    const keys = new Set(this.config.services.map((s) => serviceKey(s.service)));
    const mine = new Set(cfg.services.map((s) => serviceKey(s.service)));
    const next = new Map([...this.applied].filter(([id]) => keys.has(id.split(' ')[0]) && !mine.has(id.split(' ')[0])));
    for (const n of all.notes) if (mine.has(n.service)) next.set(probeId(n.service, n.realServer), n.weight);
    this.applied = next;
    this.writer.request();
    this.applier.request();
    return only(all, mine);
  }

  /** Forgets what a source declared: its services are no longer checked or adjusted. */
  unconfigure(source: string): void {
    if (!this.sources.delete(source)) return;
    this.rebuild();
    this.changed();
  }

  /** The sources whose declarations the checker runs. */
  sourceIds(): string[] {
    return [...this.sources.keys()];
  }

  /** The adjusted table these arguments would get now, changing nothing: for check mode and planning. */
  preview(args: HealthArgs): Adjusted {
    return previewAdjusted(healthConfig(args), { ...this.view(), knownServices: new Set(this.config.services.map((s) => serviceKey(s.service))) });
  }

  /** The operator's drained real server addresses (`ctl drain`), replacing the previous set. */
  setDrained(addresses: Iterable<string>): void {
    const next = new Set(addresses);
    for (const t of drainTransitions(this.config, this.drained, next, this.clock.now())) this.opts.onTransition?.(t);
    this.drained = next;
    this.changed();
  }

  start(): void {
    this.scheduler.start();
  }

  /** Stops the checks and waits for an apply or a state write in flight. */
  async stop(): Promise<void> {
    this.scheduler.stop();
    if (this.retry !== undefined) this.clock.clearTimeout(this.retry);
    this.retry = undefined;
    await this.idle();
  }

  /** Resolves when no apply and no state write is in flight. */
  async idle(): Promise<void> {
    await Promise.all([this.applier.idle(), this.writer.idle()]);
  }

  view(): HealthView {
    return { states: this.states(), quorumLost: new Set(this.quorumLost), drained: new Set(this.drained) };
  }

  adjusted(): Adjusted {
    return adjust(this.config, this.view());
  }

  snapshot(): HealthSnapshot {
    const states = this.states();
    return buildSnapshot({
      at: this.clock.now(),
      config: this.config,
      adjusted: this.adjusted(),
      probes: this.scheduler.status(),
      states,
      quorumLost: this.quorumLost,
      drained: this.drained,
    });
  }

  private states(): HealthStates {
    return Object.fromEntries(this.scheduler.status().map((p) => [p.id, { state: p.state, ...(p.reason !== undefined ? { reason: p.reason } : {}) }]));
  }

  /** The union of the sources (a service key declared twice: the later source wins), and the probes for it. */
  private rebuild(restored?: Record<string, PersistedProbe>): void {
    const byKey = new Map<string, ServiceHealth>();
    for (const cfg of this.sources.values()) for (const s of cfg.services) byKey.set(serviceKey(s.service), s);
    this.config = { services: [...byKey.values()] };
    for (const k of [...this.quorumLost]) if (!byKey.has(k)) this.quorumLost.delete(k);
    this.scheduler.update(probeSpecs(this.config), restored);
  }

  private changed(): void {
    this.evaluateQuorum();
    this.writer.request();
    this.applier.request();
  }

  private evaluateQuorum(): void {
    const states = this.states();
    const at = this.clock.now();
    for (const s of this.config.services) {
      const key = serviceKey(s.service);
      const step = stepQuorum(s, !this.quorumLost.has(key), liveWeight(s, states, this.drained), at);
      if (step.held) this.quorumLost.delete(key);
      else this.quorumLost.add(key);
      for (const t of step.transitions) this.opts.onTransition?.(t);
    }
  }

  private async applyOnce(): Promise<void> {
    const adjusted = this.adjusted();
    const changed = changedRealServers(this.applied, adjusted);
    if (!changed.length) return;
    try {
      await this.opts.apply(adjusted.services, changed);
      this.applied = weightsOf(adjusted);
    } catch (e) {
      this.opts.onError?.(new Error(`health: applying the adjusted table failed: ${(e as Error).message}`));
      this.retry ??= this.clock.setTimeout(() => {
        this.retry = undefined;
        this.applier.request();
      }, this.opts.applyRetryMs ?? 5000);
    }
  }

  private async writeState(): Promise<void> {
    if (!this.opts.stateDir) return;
    const state: HealthStateFile = {
      version: HEALTH_STATE_VERSION,
      savedAt: this.clock.now(),
      sources: Object.fromEntries(this.sources),
      drained: [...this.drained].sort(),
      probes: persistedProbes(this.scheduler.status()),
      quorumLost: [...this.quorumLost].sort(),
    };
    await saveHealthState(this.opts.stateDir, state).catch((e: Error) => this.opts.onError?.(new Error(`health: cannot save state: ${e.message}`)));
  }
}

function only(a: Adjusted, services: ReadonlySet<string>): Adjusted {
  return {
    services: a.services.filter((s) => services.has(serviceKey(s))),
    notes: a.notes.filter((n) => services.has(n.service)),
  };
}
