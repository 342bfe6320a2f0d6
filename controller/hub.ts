import type { Server as HttpServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Server, type Socket } from 'socket.io';
import {
  PROTOCOL_VERSION,
  type AgentAuth,
  type ClientToServerEvents,
  type Health,
  type RunEnd,
  type RunJob,
  type ServerToClientEvents,
  type TaskResult,
} from '../common/protocol.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { Store } from './store.js';
import type { AgentView } from '../common/api.js';

export type AgentSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** Follows agents as they come and go (drift, the live view, events); see AgentHub.listen. */
export interface HubListener {
  /** A new connection: the listener may add handlers of its own to the socket and emit on it. */
  connected?(name: string, socket: AgentSocket): void;
  disconnected?(name: string, reason: string): void;
  heartbeat?(name: string): void;
  facts?(name: string): void;
  refused?(refusal: { peer: string; agent?: string; reason: string }): void;
}

/** The heartbeat interval an agent that does not say its own is assumed to have. */
export const DEFAULT_HEARTBEAT_MS = 5000;

export interface JobHandlers {
  onResult(r: TaskResult): void;
  onEnd(end: RunEnd): void;
  /** The agent went away before the run ended. */
  onLost(reason: string): void;
}

interface Conn {
  socket: AgentSocket;
  connectedAt: number;
  heartbeatAt: number;
  heartbeatMs: number;
  health?: Health;
  jobs: Map<string, JobHandlers>;
}

export type { AgentView };

function peerOf(socket: AgentSocket): string {
  return socket.handshake.address.replace(/^::ffff:/, '');
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The socket.io side of the controller: authenticates agents, keeps one live connection per
 * host, holds heartbeats in memory (they never write the store) and routes run events.
 */
export class AgentHub {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  private readonly conns = new Map<string, Conn>();
  private readonly lastHeartbeat = new Map<string, number>();
  private readonly listeners = new Set<HubListener>();

  constructor(
    server: HttpServer,
    private readonly store: Store,
    token: string,
    private readonly clock: () => number = Date.now,
    private readonly log: Logger = silentLogger,
  ) {
    // A generous ping timeout: an agent busy on an emulated or loaded host answers late, and a
    // dead agent's socket closes at once anyway.
    // serveClient: the health view loads /socket.io/socket.io.js from here.
    this.io = new Server(server, { serveClient: true, pingInterval: 15_000, pingTimeout: 30_000 });
    this.io.use((socket, next) => {
      const auth = socket.handshake.auth as Partial<AgentAuth>;
      const refuse = (reason: string): void => {
        // The name as given, cut short: it is untrusted input and may be anything.
        const name = typeof auth.name === 'string' ? auth.name.slice(0, 64) : undefined;
        this.log.warn({ peer: peerOf(socket), ...(name !== undefined ? { agent: name } : {}), reason }, 'agent refused');
        this.tell('refused', { peer: peerOf(socket), ...(name !== undefined ? { agent: name } : {}), reason });
        next(new Error(reason));
      };
      if (typeof auth.token !== 'string' || !tokensEqual(auth.token, token)) return refuse('unauthorized: bad token');
      if (typeof auth.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(auth.name)) return refuse('bad agent name');
      if (auth.protocol !== PROTOCOL_VERSION) return refuse(`protocol ${auth.protocol} not supported (want ${PROTOCOL_VERSION})`);
      next();
    });
    this.io.on('connection', (socket) => this.accept(socket));
  }

  /** Follows agents from now on; returns the function that stops it. */
  listen(l: HubListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private tell<K extends keyof HubListener>(what: K, ...args: Parameters<NonNullable<HubListener[K]>>): void {
    for (const l of this.listeners) {
      try {
        (l[what] as ((...a: typeof args) => void) | undefined)?.(...args);
      } catch (e) {
        this.log.error({ err: e, listener: what }, 'hub listener failed');
      }
    }
  }

  /** Whether an agent is connected, when it last sent a heartbeat, and how often it sends them. */
  liveness(name: string): { connected: boolean; heartbeatAt?: number; heartbeatMs: number } {
    const conn = this.conns.get(name);
    const at = this.lastHeartbeat.get(name);
    return { connected: !!conn, ...(at !== undefined ? { heartbeatAt: at } : {}), heartbeatMs: conn?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS };
  }

  private accept(socket: AgentSocket): void {
    const auth = socket.handshake.auth as AgentAuth;
    const name = auth.name;
    const old = this.conns.get(name);
    if (old) old.socket.disconnect(true);
    const heartbeatMs = typeof auth.heartbeatMs === 'number' && auth.heartbeatMs >= 100 && auth.heartbeatMs <= 3_600_000 ? auth.heartbeatMs : DEFAULT_HEARTBEAT_MS;
    const conn: Conn = { socket, connectedAt: this.clock(), heartbeatAt: this.clock(), heartbeatMs, jobs: new Map() };
    this.conns.set(name, conn);
    this.lastHeartbeat.set(name, conn.heartbeatAt);
    const address = peerOf(socket);
    this.log.info({ agent: name, peer: address, ...(old ? { replaced: true } : {}) }, 'agent connected');
    this.store.upsertAgent(name, { lastSeen: new Date().toISOString(), address });

    socket.on('facts', (facts) => {
      this.store.upsertAgent(name, { facts, lastSeen: new Date().toISOString() });
      this.tell('facts', name);
    });
    socket.on('heartbeat', (health) => {
      conn.health = health;
      conn.heartbeatAt = this.clock();
      this.lastHeartbeat.set(name, conn.heartbeatAt);
      this.tell('heartbeat', name);
    });
    socket.on('task:result', (runId, result) => conn.jobs.get(runId)?.onResult(result));
    socket.on('run:end', (end) => {
      const h = conn.jobs.get(end.runId);
      conn.jobs.delete(end.runId);
      h?.onEnd(end);
    });
    socket.on('disconnect', (reason) => {
      this.log.info({ agent: name, peer: address, reason, ...(conn.jobs.size ? { lostJobs: [...conn.jobs.keys()] } : {}) }, 'agent disconnected');
      if (this.conns.get(name) === conn) this.conns.delete(name);
      this.store.upsertAgent(name, { lastSeen: new Date().toISOString() });
      for (const h of conn.jobs.values()) h.onLost(`agent disconnected: ${reason}`);
      conn.jobs.clear();
      if (!this.conns.has(name)) this.tell('disconnected', name, reason);
    });
    this.tell('connected', name, socket);
  }

  isOnline(name: string): boolean {
    return this.conns.has(name);
  }

  /** Sends a job to a connected agent; false when the host has no live connection. */
  dispatch(job: RunJob, handlers: JobHandlers): boolean {
    const conn = this.conns.get(job.host);
    if (!conn) return false;
    conn.jobs.set(job.runId, handlers);
    conn.socket.emit('run:start', job);
    return true;
  }

  /** Stops routing a job's events (it was given up); late results are dropped. */
  abandon(host: string, runId: string): void {
    this.conns.get(host)?.jobs.delete(runId);
  }

  agents(): AgentView[] {
    const names = new Set([...Object.keys(this.store.data.agents), ...this.conns.keys()]);
    const now = this.clock();
    return [...names].sort().map((name) => {
      const rec = this.store.agent(name);
      const conn = this.conns.get(name);
      const hb = this.lastHeartbeat.get(name) ?? (rec ? Date.parse(rec.lastSeen) : undefined);
      return {
        name,
        online: !!conn,
        address: rec?.address,
        lastHeartbeat: hb !== undefined ? new Date(hb).toISOString() : null,
        heartbeatAgeMs: hb !== undefined ? now - hb : null,
        ...(conn?.health ? { health: conn.health } : {}),
        facts: rec?.facts,
      };
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}
