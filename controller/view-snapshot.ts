import type { DesiredState } from '../common/desired-state.js';
import type { AgentView } from '../common/api.js';
import type { AgentState, ViewAgent, ViewEvent, ViewRun, ViewSnapshot } from '../common/view.js';
import type { HostFinding } from './findings.js';
import type { DirectorSource } from './health-directors.js';

export interface ViewSources {
  agents(): AgentView[];
  liveness(name: string): { connected: boolean; heartbeatAt?: number; heartbeatMs: number };
  desired(host: string): DesiredState | undefined;
  openFindings(host: string): HostFinding[];
  lastRun(host: string): ViewRun | undefined;
  events(): ViewEvent[];
  directors: DirectorSource;
  /** Missed heartbeats after which a connected agent is unresponsive (default 3). */
  unresponsiveAfter?: number;
  /** Hook for the trust work: an agent whose certificate was revoked. */
  revoked?(name: string): boolean;
  /** Clock of heartbeat times (the hub's, monotonic or wall). */
  now(): number;
  wallClock?: () => Date;
}

/** online: heartbeats arrive; unresponsive: connected, but N heartbeats missed; offline: no connection. */
export function agentState(src: Pick<ViewSources, 'liveness' | 'revoked' | 'unresponsiveAfter' | 'now'>, name: string): AgentState {
  if (src.revoked?.(name)) return 'revoked';
  const l = src.liveness(name);
  if (!l.connected) return 'offline';
  const missed = l.heartbeatAt === undefined ? 0 : (src.now() - l.heartbeatAt) / l.heartbeatMs;
  return missed > (src.unresponsiveAfter ?? 3) ? 'unresponsive' : 'online';
}

function agent(src: ViewSources, a: AgentView): ViewAgent {
  const os = a.facts?.os;
  const held = src.desired(a.name);
  const lastRun = src.lastRun(a.name);
  return {
    name: a.name,
    state: agentState(src, a.name),
    heartbeatAgeMs: a.heartbeatAgeMs === null ? null : Math.max(0, a.heartbeatAgeMs),
    ...(a.address ? { address: a.address } : {}),
    ...(os ? { os: { distro: os.distro ?? '', release: os.release ?? '', kernel: os.kernel ?? '' } } : {}),
    ...(a.health ? { load1: a.health.load1, memory: { free: a.health.memFree, total: a.health.memTotal }, uptimeS: a.health.uptime } : {}),
    roles: [...new Set(held?.slots.flatMap((s) => s.roles) ?? [])],
    findings: src.openFindings(a.name).map((f) => ({
      ...(f.role !== undefined ? { role: f.role } : {}),
      task: f.task,
      field: f.field,
      before: f.before,
      after: f.after,
      text: f.text,
      firstSeen: f.firstSeen,
    })),
    ...(lastRun ? { lastRun } : {}),
  };
}

/** The live view's snapshot from what the controller knows now (also what /metrics is computed from). */
export function buildViewSnapshot(src: ViewSources): ViewSnapshot {
  return {
    generatedAt: (src.wallClock?.() ?? new Date()).toISOString(),
    agents: src.agents().map((a) => agent(src, a)),
    directors: src.directors.directors(),
    events: src.events(),
  };
}
