import type { Check, ProbingCheck } from './schema.js';
import type { CheckResult, CheckTarget, Clock, HealthTransition, RsState } from './types.js';

/** The scheduler's vocabulary: what it checks, what it keeps per real server, what it needs. */

/** One real server of one service to check. */
export interface ProbeSpec {
  /** probeId(service, realServer) */
  id: string;
  service: string;
  realServer: string;
  check: Check;
  target: CheckTarget;
}

/** What survives an agent restart (state-file.ts). */
export interface PersistedProbe {
  state: RsState;
  /** Why it is down: the last failure's reason, or "not checked yet" (alpha). */
  reason?: string;
  since: number;
  downTransitions: number;
}

/** A real server's health as `ctl status` shows it, like a line of HAProxy's stats page. */
export interface ProbeStatus extends PersistedProbe {
  id: string;
  service: string;
  realServer: string;
  check: Check['type'];
  lastCheckAt?: number;
  lastCheckMs?: number;
  lastResult?: CheckResult;
  okStreak: number;
  failStreak: number;
  checks: number;
  failures: number;
}

export type RunCheck = (spec: ProbeSpec) => Promise<CheckResult>;
export type RealServerTransition = Extract<HealthTransition, { kind: 'realserver' }>;

export interface SchedulerDeps {
  clock: Clock;
  runCheck: RunCheck;
  onTransition: (t: RealServerTransition) => void;
  /** After every check, transition or not. */
  onCheck?: (s: ProbeStatus) => void;
}

/**
 * The longest a check can take to see a server change state (down: fall failures, up: rise
 * passes) after the change, apply not counted: the wait for the next check (up to the interval),
 * then each further check at most max(retry_interval, timeout) after the one before, the last one
 * taking up to the timeout. Lab tests derive their waiting bounds from it.
 */
export function transitionBoundMs(c: ProbingCheck, to: RsState): number {
  const retry = c.retry_interval ?? c.interval / 2;
  const checks = to === 'down' ? c.fall : c.rise;
  return Math.round((c.interval + (checks - 1) * Math.max(retry, c.timeout) + c.timeout) * 1000);
}
