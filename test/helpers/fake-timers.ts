import type { Timers } from '../../agent/timers.js';

interface Entry {
  id: number;
  at: number;
  ms: number;
  fn: () => void;
  every?: number;
}

/** Timers driven by the test: nothing fires until `advance`. */
export class FakeTimers implements Timers {
  private t = 0;
  private seq = 0;
  private readonly entries = new Map<number, Entry>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.entries.set(id, { id, at: this.t + ms, ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.entries.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.entries.set(id, { id, at: this.t + ms, ms, fn, every: ms });
    return id;
  }

  clearInterval(handle: unknown): void {
    this.entries.delete(handle as number);
  }

  /** Delays of the one-shot timers waiting now, in the order they were set. */
  pendingTimeouts(): number[] {
    return [...this.entries.values()].filter((e) => e.every === undefined).map((e) => e.ms);
  }

  /** Timers set and not yet run or cleared. */
  get count(): number {
    return this.entries.size;
  }

  /** Moves the clock, firing what falls due in order, and lets promise callbacks run between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const due = [...this.entries.values()].filter((e) => e.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.t = due.at;
      if (due.every !== undefined) due.at += due.every;
      else this.entries.delete(due.id);
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every promise callback that is ready run (a few macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A promise the test resolves by hand: a check that takes as long as the test wants. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
