import type { Namespace, Server } from 'socket.io';
import type { ViewSnapshot } from '../common/view.js';

interface ViewEvents {
  snapshot: (v: ViewSnapshot) => void;
}

export interface ViewHubOptions {
  /** The controller's socket.io server (the agents use its default namespace). */
  io: Server;
  snapshot(): ViewSnapshot;
  /** Whether a Cookie header names a live session. */
  signedIn(cookieHeader: string | undefined): boolean;
  /** Changes within this window make one push (default 250 ms). */
  debounceMs?: number;
  /**
   * How often states that change with time alone (an agent turning unresponsive) are looked
   * at, and sessions checked (default 1 s).
   */
  tickMs?: number;
  /** A push at least this often even when nothing changed, so ages stay right (default 15 s). */
  refreshMs?: number;
}

/** A snapshot's content without what moves with the clock alone. */
function contentOf(v: ViewSnapshot): string {
  return JSON.stringify({ ...v, generatedAt: '', agents: v.agents.map((a) => ({ ...a, heartbeatAgeMs: 0 })) });
}

/**
 * The `/view` socket.io namespace: a page signed in (its session cookie, checked when it
 * connects and again every tick, so a session that ended closes the page's socket) gets a
 * snapshot at once and each new one as things change.
 */
export class ViewHub {
  readonly nsp: Namespace<Record<string, never>, ViewEvents>;
  private debounce: NodeJS.Timeout | undefined;
  private readonly tick: NodeJS.Timeout;
  private last = '';
  private lastPushAt = 0;

  constructor(private readonly o: ViewHubOptions) {
    this.nsp = o.io.of('/view') as unknown as Namespace<Record<string, never>, ViewEvents>;
    this.nsp.use((socket, next) => next(o.signedIn(socket.request.headers.cookie) ? undefined : new Error('unauthorized')));
    this.nsp.on('connection', (socket) => socket.emit('snapshot', this.o.snapshot()));
    this.tick = setInterval(() => this.onTick(), o.tickMs ?? 1000);
    this.tick.unref();
  }

  /** Something changed: push soon (once for a burst). */
  changed(): void {
    if (this.debounce || !this.nsp.sockets.size) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.push(false);
    }, this.o.debounceMs ?? 250);
  }

  close(): void {
    clearInterval(this.tick);
    clearTimeout(this.debounce);
  }

  private onTick(): void {
    if (!this.nsp.sockets.size) return;
    // Closing the connection (not just the namespace) makes the page reconnect, be refused and sign in again.
    for (const s of this.nsp.sockets.values()) if (!this.o.signedIn(s.request.headers.cookie)) s.conn.close();
    this.push(Date.now() - this.lastPushAt >= (this.o.refreshMs ?? 15_000));
  }

  private push(always: boolean): void {
    if (!this.nsp.sockets.size) return;
    const v = this.o.snapshot();
    const content = contentOf(v);
    if (!always && content === this.last) return;
    this.last = content;
    this.lastPushAt = Date.now();
    this.nsp.emit('snapshot', v);
  }
}
