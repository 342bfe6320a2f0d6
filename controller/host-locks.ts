export interface HostLock {
  /** Resolves when the run holds the host. */
  ready: Promise<void>;
  release(): void;
  /** The run just ahead in the host's line when this one joined it (the one it waits for). */
  ahead?: string;
}

/**
 * One run at a time per host, first come first served. A run takes all its hosts' locks in the
 * same tick, so two runs never wait on each other. Who holds a host and who waits for it is
 * known, so a run can say what it waits for and `--no-wait` can refuse at once.
 */
export class HostLocks {
  private readonly tails = new Map<string, Promise<void>>();
  /** host -> runs in line, the holder first. */
  private readonly lines = new Map<string, string[]>();

  take(host: string, run: string): HostLock {
    let free!: () => void;
    const held = new Promise<void>((r) => (free = r));
    const ready = this.tails.get(host) ?? Promise.resolve();
    const tail = ready.then(() => held);
    this.tails.set(host, tail);
    void tail.then(() => {
      if (this.tails.get(host) === tail) this.tails.delete(host);
    });
    const line = this.lines.get(host) ?? [];
    const ahead = line.at(-1);
    line.push(run);
    this.lines.set(host, line);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const l = this.lines.get(host) ?? [];
      const i = l.indexOf(run);
      if (i >= 0) l.splice(i, 1);
      if (!l.length) this.lines.delete(host);
      free();
    };
    return { ready, release, ...(ahead ? { ahead } : {}) };
  }

  /** The hosts among these that a run holds or waits for, with the run at the head of each line. */
  busy(hosts: readonly string[]): { host: string; run: string }[] {
    return hosts.flatMap((host) => {
      const run = this.lines.get(host)?.[0];
      return run ? [{ host, run }] : [];
    });
  }
}
