import type { ProbingCheck } from './schema.js';
import { timeoutReason } from './checks/reasons.js';
import type { PersistedProbe, ProbeSpec, ProbeStatus, SchedulerDeps } from './probe.js';
import type { CheckResult, Clock, RsState, TimerHandle } from './types.js';

export type { PersistedProbe, ProbeSpec, ProbeStatus, RealServerTransition, RunCheck, SchedulerDeps } from './probe.js';
export { transitionBoundMs } from './probe.js';

/** Beyond its own timeout a checker that has not answered is taken as timed out. */
const WATCHDOG_GRACE_MS = 1000;
export const NOT_CHECKED = 'not checked yet';

interface Probe {
  spec: ProbeSpec;
  st: ProbeStatus;
  timer?: TimerHandle;
  busy: boolean;
  /** Bumped when the spec changes or the scheduler stops: a result of an older check is dropped. */
  gen: number;
  /** A check is due while one is running: start it when that one ends. */
  pending: boolean;
  alphaPending: boolean;
}

/**
 * Runs every real server's check on its own timer: first checks spread over the interval
 * (keepalived's warmup), a server never checked twice at once, fall failures in a row take it
 * down with the last reason, rise passes bring it up. Servers are checked concurrently.
 */
export class CheckScheduler {
  private readonly probes = new Map<string, Probe>();
  private running = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Sets the probes: new ones start (alpha: down), changed ones restart their counts, gone ones stop. */
  update(specs: readonly ProbeSpec[], restored: Readonly<Record<string, PersistedProbe>> = {}): void {
    const incoming = new Set(specs.map((s) => s.id));
    for (const [id, p] of this.probes) {
      if (incoming.has(id)) continue;
      this.cancel(p);
      p.gen++;
      this.probes.delete(id);
    }
    const fresh: Probe[] = [];
    for (const spec of specs) {
      const p = this.probes.get(spec.id);
      if (!p) {
        const created = this.create(spec, restored[spec.id]);
        this.probes.set(spec.id, created);
        fresh.push(created);
      } else if (JSON.stringify(p.spec) !== JSON.stringify(spec)) {
        this.cancel(p);
        p.gen++;
        p.spec = spec;
        Object.assign(p.st, { check: spec.check.type, okStreak: 0, failStreak: 0 });
        fresh.push(p);
      }
    }
    for (const p of fresh) if (p.spec.check.type === 'none' && p.st.state === 'down') this.transition(p, 'up', 'no check', 0);
    if (this.running) this.spread(fresh);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spread([...this.probes.values()]);
  }

  /** Stops every timer; checks in flight end on their own timeout and their results are dropped. */
  stop(): void {
    this.running = false;
    for (const p of this.probes.values()) {
      this.cancel(p);
      p.gen++;
      p.pending = false;
    }
  }

  status(): ProbeStatus[] {
    return [...this.probes.values()].map((p) => ({ ...p.st }));
  }

  get(id: string): ProbeStatus | undefined {
    const p = this.probes.get(id);
    return p && { ...p.st };
  }

  private create(spec: ProbeSpec, saved: PersistedProbe | undefined): Probe {
    const now = this.deps.clock.now();
    const alpha = !saved && spec.check.type !== 'none' && spec.check.alpha;
    const base: PersistedProbe = saved ?? (alpha ? { state: 'down', reason: NOT_CHECKED, since: now, downTransitions: 0 } : { state: 'up', since: now, downTransitions: 0 });
    const st: ProbeStatus = { ...base, id: spec.id, service: spec.service, realServer: spec.realServer, check: spec.check.type, okStreak: 0, failStreak: 0, checks: 0, failures: 0 };
    return { spec, st, busy: false, gen: 0, pending: false, alphaPending: alpha || (saved?.reason === NOT_CHECKED && saved.state === 'down') };
  }

  private spread(list: Probe[]): void {
    const probing = list.filter((p) => p.spec.check.type !== 'none');
    probing.forEach((p, i) => this.schedule(p, (i * (p.spec.check as ProbingCheck).interval * 1000) / probing.length));
  }

  private schedule(p: Probe, ms: number): void {
    this.cancel(p);
    p.timer = this.deps.clock.setTimeout(() => {
      p.timer = undefined;
      void this.runOne(p);
    }, Math.max(0, ms));
  }

  private cancel(p: Probe): void {
    if (p.timer !== undefined) this.deps.clock.clearTimeout(p.timer);
    p.timer = undefined;
  }

  private async runOne(p: Probe): Promise<void> {
    if (!this.running || p.spec.check.type === 'none') return;
    if (p.busy) {
      p.pending = true;
      return;
    }
    const { gen, spec } = p;
    const check = spec.check as ProbingCheck;
    const clock = this.deps.clock;
    p.busy = true;
    const started = clock.now();
    const result = await this.guarded(spec, check);
    p.busy = false;
    const stale = gen !== p.gen;
    if (!stale) this.record(p, check, result, started, clock.now() - started);
    if (!this.running || this.probes.get(spec.id) !== p) return;
    if (stale || p.pending) {
      // the spec changed or a check fell due meanwhile: check again at once
      p.pending = false;
      if (p.timer === undefined) this.schedule(p, 0);
      return;
    }
    const st = p.st;
    const changing = (st.state === 'up' && st.failStreak > 0) || (st.state === 'down' && st.okStreak > 0);
    const every = changing ? (check.retry_interval ?? check.interval / 2) : check.interval;
    this.schedule(p, started + every * 1000 - clock.now());
  }

  private guarded(spec: ProbeSpec, check: ProbingCheck): Promise<CheckResult> {
    const clock = this.deps.clock;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (r: CheckResult) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(watchdog);
        resolve(r);
      };
      const watchdog = clock.setTimeout(() => settle({ ok: false, reason: timeoutReason(check.timeout) }), check.timeout * 1000 + WATCHDOG_GRACE_MS);
      this.deps.runCheck(spec).then(settle, (e: unknown) => settle({ ok: false, reason: `error: ${(e as Error)?.message ?? e}` }));
    });
  }

  private record(p: Probe, check: ProbingCheck, result: CheckResult, started: number, ms: number): void {
    const st = p.st;
    Object.assign(st, { lastCheckAt: started, lastCheckMs: ms, lastResult: result, checks: st.checks + 1 });
    if (result.ok) {
      st.okStreak++;
      st.failStreak = 0;
      if (st.state === 'down' && st.okStreak >= (p.alphaPending ? 1 : check.rise)) this.transition(p, 'up', result.detail, ms);
    } else {
      st.failures++;
      st.failStreak++;
      st.okStreak = 0;
      if (st.state === 'up' && st.failStreak >= check.fall) this.transition(p, 'down', result.reason, ms);
      else if (st.state === 'down') st.reason = result.reason;
    }
    this.deps.onCheck?.({ ...st });
  }

  private transition(p: Probe, to: RsState, reason: string, checkMs: number): void {
    const st = p.st;
    const from = st.state;
    const at = this.deps.clock.now();
    Object.assign(st, { state: to, since: at });
    if (to === 'down') {
      st.downTransitions++;
      st.reason = reason;
    } else {
      delete st.reason;
      p.alphaPending = false;
    }
    this.deps.onTransition({ kind: 'realserver', service: p.spec.service, realServer: p.spec.realServer, from, to, reason, at, checkMs });
  }
}
