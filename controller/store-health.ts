import { describeWriteError } from './durable-file.js';

/** The logger the store reports write errors to; pino's `error(obj, msg)` fits. */
export interface StoreLog {
  error(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export const stderrLog: StoreLog = { error: (obj, msg) => process.stderr.write(`store: ${msg} ${JSON.stringify(obj)}\n`) };

export interface StoreHealth {
  writable: boolean;
  /** The first failing write, one line without paths. */
  error?: string;
  since?: string;
}

/**
 * What the store's writes last did, per file. A failure is logged once (again only when it
 * changes), kept until that file is written successfully, and retried on a timer meanwhile.
 */
export class WriteHealth {
  private readonly failures = new Map<string, { error: string; since: string }>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: StoreLog,
    private readonly retry: () => void,
    private readonly retryMs: number,
  ) {}

  /** Every write attempt ends here: `e` is its error, or undefined when it succeeded. */
  report(what: string, e: unknown): void {
    if (e === undefined) {
      if (this.failures.delete(what)) this.log.info?.({ what }, 'store writable again');
      if (!this.failures.size) this.stop();
      return;
    }
    const error = describeWriteError(what, e);
    const before = this.failures.get(what);
    if (before?.error !== error) this.log.error({ what, err: (e as Error).message }, error);
    this.failures.set(what, { error, since: before?.since ?? new Date().toISOString() });
    this.retryTimer ??= setInterval(this.retry, this.retryMs).unref();
  }

  get(): StoreHealth {
    const first = this.failures.values().next().value;
    return first ? { writable: false, ...first } : { writable: true };
  }

  stop(): void {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }
}
