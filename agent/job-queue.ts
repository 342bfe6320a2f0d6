/**
 * Runs jobs one at a time, in the order they came. A job that throws is reported to `onError`
 * and the queue goes on: one bad job must not stall the host.
 */
export class JobQueue<T> {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly run: (job: T) => Promise<void>,
    private readonly onError: (job: T, err: unknown) => void,
  ) {}

  push(job: T): void {
    this.waiting++;
    this.tail = this.tail
      .then(() => this.run(job))
      .catch((e) => this.onError(job, e))
      .catch(() => {})
      .finally(() => void this.waiting--);
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.waiting;
  }

  /** Resolves when every job pushed so far has ended. */
  idle(): Promise<void> {
    return this.tail;
  }
}
