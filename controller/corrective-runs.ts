import { silentLogger, type Logger } from '../common/log.js';
import type { DesiredSlot } from '../common/desired-state.js';
import type { ControllerEvents } from './events.js';
import type { DesiredStates } from './desired-state.js';
import type { FindingsLedger, HostFinding } from './findings.js';
import type { RunManager } from './run-manager.js';

export interface CorrectiveTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: CorrectiveTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout | undefined),
};

export interface CorrectiveOptions {
  runs: Pick<RunManager, 'start' | 'busy' | 'watch'>;
  desired: Pick<DesiredStates, 'get'>;
  ledger: Pick<FindingsLedger, 'open' | 'onEvent'>;
  events?: Pick<ControllerEvents, 'push'>;
  log?: Logger;
  timers?: CorrectiveTimers;
  /** Least time between two corrective runs of a host (default 60 s). */
  minIntervalMs?: number;
  /** The window doubles while the same drift comes back, up to this (default 1 h). */
  maxIntervalMs?: number;
}

interface HostState {
  /** The corrective run going now. */
  running?: string;
  /** No corrective run starts before this. */
  notBefore: number;
  windowMs: number;
  /** Finding keys the last corrective run was started for. */
  lastKeys: Set<string>;
  timer?: unknown;
  /** The hold-back was told for this window already. */
  told?: boolean;
}

const keyOf = (f: HostFinding) => JSON.stringify([f.role ?? '', f.task, f.field]);

/** The held slots the policy lets the controller repair for these findings. */
export function fixableSlots(slots: readonly DesiredSlot[], open: readonly HostFinding[]): { slots: DesiredSlot[]; findings: HostFinding[] } {
  const hit = new Set<DesiredSlot>();
  const findings: HostFinding[] = [];
  for (const f of open) {
    const slot = slots.find((s) => s.policy === 'fix' && f.role !== undefined && (s.roles.includes(f.role) || s.slot === f.role));
    if (slot) {
      hit.add(slot);
      findings.push(f);
    }
  }
  return { slots: slots.filter((s) => hit.has(s)), findings };
}

/**
 * The `fix` policy: an open finding of a role whose held policy is `fix` starts a normal run of
 * that role slot's held tasks on the host, labelled corrective. Rate-limited per host so that
 * something fighting the agent cannot make it loop: one corrective run at a time, then none for
 * `minIntervalMs`; each time a corrective run is wanted again for drift it was already started
 * for (it did not hold), the wait doubles, up to `maxIntervalMs`; drift of other fields starts
 * the wait over. A fix held back is logged and told as an event once per window; the findings
 * stay open and the fix is tried again when the window ends.
 */
export class CorrectiveRuns {
  private readonly hosts = new Map<string, HostState>();
  private readonly timers: CorrectiveTimers;
  private readonly log: Logger;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly stops: (() => void)[] = [];

  constructor(private readonly o: CorrectiveOptions) {
    this.timers = o.timers ?? realTimers;
    this.log = o.log ?? silentLogger;
    this.minMs = o.minIntervalMs ?? 60_000;
    this.maxMs = Math.max(this.minMs, o.maxIntervalMs ?? 3_600_000);
    this.stops.push(
      o.ledger.onEvent((e) => {
        if (e.kind !== 'resolved') this.consider(e.finding.host);
      }),
      o.runs.watch({
        ended: (run) => {
          for (const [host, st] of this.hosts) {
            if (st.running !== run.id) continue;
            st.running = undefined;
            // The agent resumes its watch after this run and reports what is left; look again when the window ends.
            this.arm(host, st);
          }
        },
      }),
    );
  }

  close(): void {
    for (const s of this.stops) s();
    for (const st of this.hosts.values()) this.timers.clearTimeout(st.timer);
  }

  /** What the limiter holds for a host (for tests and the log). */
  state(host: string): Readonly<Pick<HostState, 'running' | 'notBefore' | 'windowMs'>> | undefined {
    return this.hosts.get(host);
  }

  /** Starts a corrective run for the host if its policy asks for one and the limit allows it now. */
  consider(host: string): void {
    const held = this.o.desired.get(host);
    if (!held) return;
    const { slots, findings } = fixableSlots(held.slots, this.o.ledger.open(host));
    if (!slots.length) return;
    const st = this.hosts.get(host) ?? { notBefore: 0, windowMs: this.minMs, lastKeys: new Set<string>() };
    this.hosts.set(host, st);
    // A run going on the host (this one, or an operator's that ends with a new held state) comes first.
    if (st.running || this.o.runs.busy(host)) return;
    const now = this.timers.now();
    if (now < st.notBefore) {
      this.arm(host, st);
      if (!st.told) {
        st.told = true;
        const until = new Date(Date.now() + (st.notBefore - now)).toISOString();
        this.log.warn({ host, findings: findings.length, until, windowMs: st.windowMs }, 'corrective run held back by the rate limit');
        this.o.events?.push({ kind: 'drift-found', host, level: 'warn', text: `fix held back until ${until.slice(11, 19)}: ${findings.length} finding(s) stay open (corrective runs are rate-limited)` });
      }
      return;
    }
    const keys = new Set(findings.map(keyOf));
    const recurring = [...keys].some((k) => st.lastKeys.has(k));
    st.windowMs = recurring ? Math.min(st.windowMs * 2, this.maxMs) : this.minMs;
    st.lastKeys = keys;
    st.notBefore = now + st.windowMs;
    st.told = false;
    let run;
    try {
      run = this.o.runs.start({
        title: `corrective: ${findings.length} drift finding${findings.length > 1 ? 's' : ''} on ${host}`,
        kind: 'tasks',
        // Automated runs are kept apart from operator runs in history, as scheduled ones are.
        origin: 'schedule',
        label: 'corrective',
        check: false,
        diff: true,
        plays: [{ name: `held desired state of ${slots.map((s) => s.slot).join(', ')}`, hosts: { [host]: slots.flatMap((s) => s.tasks) }, ...(held.factsOverride ? { factsOverride: { [host]: held.factsOverride } } : {}) }],
      });
    } catch (e) {
      this.log.error({ host, err: (e as Error).message }, 'cannot start a corrective run');
      this.arm(host, st);
      return;
    }
    st.running = run.id;
    this.log.info({ host, run: run.id, findings: findings.map((f) => f.text).slice(0, 10), slots: slots.map((s) => s.slot), nextNotBeforeMs: st.windowMs }, 'corrective run started');
  }

  /** Looks at the host again when its window ends. */
  private arm(host: string, st: HostState): void {
    this.timers.clearTimeout(st.timer);
    st.timer = this.timers.setTimeout(() => {
      st.timer = undefined;
      this.consider(host);
    }, Math.max(0, st.notBefore - this.timers.now()));
  }
}
