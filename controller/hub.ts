import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { Server, type Socket } from 'socket.io';
import {
  type ClientToServerEvents,
  type Health,
  type JobCancel,
  type JobRecord,
  type RunEnd,
  type RunJob,
  type ServerToClientEvents,
  type TaskResult,
} from '../common/protocol.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { Store } from './store.js';
import type { AgentView } from '../common/api.js';
import { agentAuthMiddleware, type AgentAuthenticator } from './agent-auth.js';

export { tokensEqual } from './agent-auth.js';

export type AgentSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface JobHandlers {
  onResult(r: TaskResult): void;
  onEnd(end: RunEnd): void;
  /** The agent went away before the run ended. */
  onLost(reason: string): void;
}

/** The heartbeat interval an agent that does not say its own is assumed to have. */
export const DEFAULT_HEARTBEAT_MS = 5000;

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

/**
 * The socket.io side of the controller: authenticates agents, keeps one live connection per
 * host, holds heartbeats in memory (they never write the store) and routes run events.
 */
export class AgentHub {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  private readonly conns = new Map<string, Conn>();
  private readonly lastHeartbeat = new Map<string, number>();
  /** Cancels for agents not connected now, sent when they come back (until their jobs' deadline). */
  private readonly cancels = new Map<string, { cancel: JobCancel; until: number }[]>();
  private readonly connectListeners: ((name: string) => void)[] = [];
  private readonly agentHooks: ((name: string, socket: AgentSocket) => void)[] = [];
  private readonly refusalHooks: ((r: { peer: string; agent?: string; reason: string }) => void)[] = [];

  constructor(
    server: HttpServer | HttpsServer,
    private readonly store: Store,
    authenticate: AgentAuthenticator,
    private readonly clock: () => number = Date.now,
    private readonly log: Logger = silentLogger,
  ) {
    // A generous ping timeout: an agent busy on an emulated or loaded host answers late, and a
    // dead agent's socket closes at once anyway.
    // serveClient: the live view loads /socket.io/socket.io.js from here.
    this.io = new Server(server, { serveClient: true, pingInterval: 15_000, pingTimeout: 30_000 });
    // Who the agent is (its certificate, or the dev token) is decided here, before any event.
    this.io.use(agentAuthMiddleware(authenticate, log, (r) => this.refusalHooks.forEach((h) => h(r))));
    this.io.on('connection', (socket) => this.accept(socket));
  }

  private accept(socket: AgentSocket): void {
    const name = (socket.data as { host: string }).host;
    const old = this.conns.get(name);
    if (old) old.socket.disconnect(true);
    const said = (socket.handshake.auth as { heartbeatMs?: unknown }).heartbeatMs;
    const heartbeatMs = typeof said === 'number' && said >= 100 && said <= 3_600_000 ? said : DEFAULT_HEARTBEAT_MS;
    const conn: Conn = { socket, connectedAt: this.clock(), heartbeatAt: this.clock(), heartbeatMs, jobs: new Map() };
    this.conns.set(name, conn);
    this.lastHeartbeat.set(name, conn.heartbeatAt);
    const address = peerOf(socket);
    const serial = (socket.data as { serial?: string }).serial;
    this.log.info({ agent: name, peer: address, ...(serial ? { serial } : {}), ...(old ? { replaced: true } : {}) }, 'agent connected');
    this.store.upsertAgent(name, { lastSeen: new Date().toISOString(), address });
    for (const { cancel, until } of this.cancels.get(name) ?? []) if (until > this.clock()) socket.emit('run:cancel', cancel);
    this.cancels.delete(name);

    socket.on('facts', (facts) => {
      this.store.upsertAgent(name, { facts, lastSeen: new Date().toISOString() });
    });
    socket.on('heartbeat', (health) => {
      conn.health = health;
      conn.heartbeatAt = this.clock();
      this.lastHeartbeat.set(name, conn.heartbeatAt);
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
    });
    for (const fn of this.connectListeners) fn(name);
    for (const hook of this.agentHooks) hook(name, socket);
  }

  /** Called with the agent's name each time an agent connects (after its handlers are set). */
  onConnect(fn: (name: string) => void): void {
    this.connectListeners.push(fn);
  }

  /**
   * Tells the agent to stop a job: sent now, or when the agent is back if it is not connected
   * (kept `keepMs`: past the job's deadline the agent stops it by itself).
   */
  cancel(host: string, job: string, reason: string, now: boolean, keepMs = 3_600_000): void {
    const cancel: JobCancel = { runId: job, reason, now };
    const conn = this.conns.get(host);
    if (conn?.socket.connected) return void conn.socket.emit('run:cancel', cancel);
    const list = [...(this.cancels.get(host) ?? []), { cancel, until: this.clock() + keepMs }];
    this.cancels.set(host, list.slice(-100));
  }

  /** The agent's journal of a run's jobs (what it did while the controller could not hear it). */
  async journal(host: string, run: string, timeoutMs = 10_000): Promise<JobRecord[]> {
    const conn = this.conns.get(host);
    if (!conn) throw new Error(`${host} is not connected`);
    return conn.socket.timeout(timeoutMs).emitWithAck('job:journal', { run });
  }

  /** Cuts a host off at once (revoked): its jobs are lost, as when the agent goes away. */
  disconnectHost(name: string, reason: string): boolean {
    const conn = this.conns.get(name);
    if (!conn) return false;
    this.log.warn({ agent: name, peer: peerOf(conn.socket), reason }, 'agent cut off');
    conn.socket.disconnect(true);
    return true;
  }

  /** Called for every accepted agent connection, after the hub's own handlers (controller/health-hub.ts). */
  onAgent(hook: (name: string, socket: AgentSocket) => void): void {
    this.agentHooks.push(hook);
  }

  /** Called for every agent refused at the handshake (the live view's events). */
  onRefused(hook: (r: { peer: string; agent?: string; reason: string }) => void): void {
    this.refusalHooks.push(hook);
  }

  /** Whether an agent is connected, when it last sent a heartbeat, and how often it says it sends them. */
  liveness(name: string): { connected: boolean; heartbeatAt?: number; heartbeatMs: number } {
    const conn = this.conns.get(name);
    const at = this.lastHeartbeat.get(name);
    return { connected: !!conn, ...(at !== undefined ? { heartbeatAt: at } : {}), heartbeatMs: conn?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS };
  }

  /** The live connection of a host. */
  socketOf(name: string): AgentSocket | undefined {
    return this.conns.get(name)?.socket;
  }

  /** Hosts connected now. */
  online(): string[] {
    return [...this.conns.keys()].sort();
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
