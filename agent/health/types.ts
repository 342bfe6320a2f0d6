/** Shapes shared by the health checker's parts: check results, states, transitions, the clock. */

/** What one check says: passed with a short detail ("HTTP 200"), or failed with the reason. */
export type CheckResult = { ok: true; detail: string } | { ok: false; reason: string };

/** Where a check goes and what an exec check gets in its environment. */
export interface CheckTarget {
  /** The real server's address and port, as in the IPVS table. */
  address: string;
  port: number;
  /** The virtual service: address and port, or the fwmark. */
  protocol: string;
  vip?: string;
  vport?: number;
  fwmark?: number;
}

export type RsState = 'up' | 'down';

/**
 * Every change the health checker makes or sees, as sent to the controller and shown by
 * `ctl events`. `service` and `realServer` are the IPVS table's keys
 * (`tcp:172.25.7.200:80`, `172.25.7.3:80`); `at` is epoch milliseconds.
 */
export type HealthTransition =
  | { kind: 'realserver'; service: string; realServer: string; from: RsState; to: RsState; reason: string; at: number; checkMs: number }
  | { kind: 'quorum'; service: string; from: 'held' | 'lost'; to: 'held' | 'lost'; reason: 'quorum lost' | 'quorum regained'; at: number; liveWeight: number; quorum: number; hysteresis: number }
  | { kind: 'sorry'; service: string; realServer: string; from: 'in' | 'out'; to: 'in' | 'out'; reason: 'sorry server in' | 'sorry server out'; at: number }
  | { kind: 'drain'; service: string; realServer: string; from: 'drained' | 'serving'; to: 'drained' | 'serving'; reason: 'drained' | 'undrained'; at: number };

export type TimerHandle = unknown;

/** Time and timers, injected so that the scheduler's logic is tested without sleeping. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The one key of a real server within a service: `tcp:172.25.7.200:80 172.25.7.3:80`. */
export function probeId(service: string, realServer: string): string {
  return `${service} ${realServer}`;
}

/** `1` -> `1`, `0.5` -> `0.5`: seconds as an operator wrote them, for reasons like "timeout 1 s". */
export function secondsText(s: number): string {
  return String(Number(s.toFixed(3)));
}
