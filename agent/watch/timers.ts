import type { Timers } from '../timers.js';

/**
 * The watch's clock and timers: the agent's (agent/timers.ts), with a wall clock, since the
 * times it reports (a finding's first seen) are read on the controller.
 */
export type WatchTimers = Pick<Timers, 'now' | 'setTimeout' | 'clearTimeout'>;
export type { WatchTimers as Timers };

export const realTimers: WatchTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
