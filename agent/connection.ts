import type { Logger } from '../common/log.js';
import type { ClientToServerEvents, RunJob, ServerToClientEvents } from '../common/protocol.js';
import type { Timers } from './timers.js';

/** The part of socket.io-client's Socket the agent uses (a fake in unit tests). */
export interface AgentSocket {
  readonly connected: boolean;
  /** False after the server refused the handshake: socket.io will not retry by itself. */
  readonly active: boolean;
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'disconnect', listener: (reason: string) => void): unknown;
  on(event: 'connect_error', listener: (err: Error) => void): unknown;
  on(event: 'run:start', listener: (job: RunJob) => void): unknown;
  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): unknown;
  emit<E extends keyof ClientToServerEvents>(event: E, ...args: Parameters<ClientToServerEvents[E]>): unknown;
  connect(): unknown;
  close(): unknown;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of each delay left to chance: 0.5 waits between half and all of it. */
  jitter: number;
}

export const REFUSED_BACKOFF: BackoffOptions = { baseMs: 4000, maxMs: 60_000, factor: 2, jitter: 0.5 };
/**
 * After a definitive refusal (revoked, rejected, a certificate for another host): asking again
 * cannot help until an operator acts, so minutes, not seconds: 1, 2, 4 ... up to 30 minutes.
 */
export const DEFINITIVE_BACKOFF: BackoffOptions = { baseMs: 60_000, maxMs: 30 * 60_000, factor: 2, jitter: 0.25 };

/** What the controller tells a refused agent (socket.io `connect_error` data). */
interface RefusalData {
  refusal?: unknown;
  definitive?: unknown;
}

/**
 * Exponential backoff with jitter and a cap: attempt n waits d·(1 − jitter·r), d = min(max,
 * base·factor^n), r in [0, 1). With factor 2 and jitter 0.5 every delay is longer than the one
 * before until the cap, and agents refused together do not come back together.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly o: BackoffOptions = REFUSED_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const d = Math.min(this.o.maxMs, this.o.baseMs * this.o.factor ** Math.min(this.attempt, 60));
    this.attempt++;
    return d * (1 - this.o.jitter * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}

export interface ConnectionEvents {
  connected(): void;
  disconnected(reason: string): void;
}

/**
 * Keeps the agent's socket connected. Lost connections are socket.io's to retry (its own
 * jittered backoff); a refused handshake (bad token, protocol) is not, so it is retried here.
 */
export class Connection {
  private retry: unknown;

  constructor(
    readonly socket: AgentSocket,
    private readonly timers: Timers,
    private readonly backoff: Backoff,
    private readonly log: Logger,
    events: ConnectionEvents,
    private readonly definitive: Backoff = new Backoff(DEFINITIVE_BACKOFF),
  ) {
    socket.on('connect', () => {
      this.backoff.reset();
      this.definitive.reset();
      this.log.info('connected');
      events.connected();
    });
    socket.on('disconnect', (reason) => {
      this.log.info({ reason }, 'disconnected');
      events.disconnected(reason);
      // socket.io leaves a connection the server closed closed; the controller may have been
      // told to (a revoked certificate): ask again, and hear why if it refuses.
      if (reason === 'io server disconnect') this.later(this.backoff.next());
    });
    socket.on('connect_error', (err) => this.failed(err));
  }

  private failed(err: Error & { data?: RefusalData; description?: unknown }): void {
    if (this.socket.active) {
      // A TLS failure (a server whose certificate our CA did not sign) surfaces here as a
      // transport error; its cause is in `description`.
      const cause = causeOf(err.description);
      this.log.warn({ reason: err.message, ...(cause ? { cause } : {}) }, 'cannot connect');
      return;
    }
    const definitive = err.data?.definitive === true;
    const refusal = typeof err.data?.refusal === 'string' ? err.data.refusal : undefined;
    const delay = (definitive ? this.definitive : this.backoff).next();
    if (definitive) {
      this.log.error({ reason: err.message, refusal, retryInMs: Math.round(delay) }, 'connection refused for good: an operator must act (ctl agents); retrying rarely');
    } else this.log.warn({ reason: err.message, ...(refusal ? { refusal } : {}), retryInMs: Math.round(delay) }, 'connection refused');
    this.later(delay);
  }

  private later(delay: number): void {
    this.timers.clearTimeout(this.retry);
    this.retry = this.timers.setTimeout(() => {
      this.retry = undefined;
      this.socket.connect();
    }, delay);
  }

  close(): void {
    this.timers.clearTimeout(this.retry);
    this.retry = undefined;
    this.socket.close();
  }
}

function causeOf(d: unknown): string | undefined {
  const e = (d as { error?: { code?: string; message?: string }; code?: string; message?: string } | undefined) ?? undefined;
  const inner = e?.error ?? e;
  return inner?.code ?? inner?.message ?? undefined;
}
