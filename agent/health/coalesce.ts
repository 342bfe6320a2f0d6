/**
 * Runs an async task one at a time; requests made while it runs fold into one more run, so a
 * burst of transitions costs one apply and one state write, never a queue of them.
 */
export class Coalescer {
  private run: Promise<void> | null = null;
  private again = false;

  constructor(private readonly task: () => Promise<void>) {}

  request(): void {
    if (this.run) {
      this.again = true;
      return;
    }
    this.run = this.loop().finally(() => (this.run = null));
  }

  /** Resolves when no run is in flight or due. */
  async idle(): Promise<void> {
    while (this.run) await this.run;
  }

  private async loop(): Promise<void> {
    // Start after the caller's synchronous work, so that a request made mid-update sees all of it.
    await null;
    do {
      this.again = false;
      await this.task();
    } while (this.again);
  }
}
