import { serviceKey } from '../ipvs/table.js';
import type { Adjusted, RealServerNote } from './adjust.js';
import type { HealthConfig } from './config.js';
import { liveWeight, type HealthStates } from './quorum.js';
import type { ProbeStatus } from './scheduler.js';
import type { Check } from './schema.js';
import { probeId } from './types.js';

/** One real server as `ctl status` shows it: declared and live weight, state, last check. */
export interface RealServerSnapshot extends RealServerNote {
  check: Check['type'];
  /** Why it is down. */
  reason?: string;
  /** Since when it is in its state (epoch ms). */
  since?: number;
  lastCheckAt?: number;
  lastCheckMs?: number;
  /** "HTTP 200", "connect refused". */
  lastResult?: string;
  okStreak: number;
  failStreak: number;
  checks: number;
  failures: number;
  downTransitions: number;
}

export interface ServiceSnapshot {
  service: string;
  quorum: { held: boolean; quorum: number; hysteresis: number; liveWeight: number };
  sorryServer?: { realServer: string; in: boolean };
  realServers: RealServerSnapshot[];
}

export interface HealthSnapshot {
  at: number;
  drained: string[];
  services: ServiceSnapshot[];
}

export interface SnapshotInput {
  at: number;
  config: HealthConfig;
  adjusted: Adjusted;
  probes: readonly ProbeStatus[];
  states: HealthStates;
  quorumLost: ReadonlySet<string>;
  drained: ReadonlySet<string>;
}

export function buildSnapshot(i: SnapshotInput): HealthSnapshot {
  const probes = new Map(i.probes.map((p) => [p.id, p]));
  return {
    at: i.at,
    drained: [...i.drained].sort(),
    services: i.config.services.map((s) => {
      const service = serviceKey(s.service);
      const held = !i.quorumLost.has(service);
      const notes = i.adjusted.notes.filter((n) => n.service === service);
      return {
        service,
        quorum: { held, quorum: s.quorum, hysteresis: s.hysteresis, liveWeight: liveWeight(s, i.states, i.drained) },
        ...(s.sorryServer ? { sorryServer: { realServer: `${s.sorryServer.address}:${s.sorryServer.port}`, in: notes.some((n) => n.sorry) } } : {}),
        realServers: notes.map((n) => {
          const p = probes.get(probeId(service, n.realServer));
          const last = p?.lastResult;
          return {
            ...n,
            check: n.sorry ? 'none' : (s.checks[n.realServer]?.type ?? 'none'),
            ...(p?.reason !== undefined && n.state === 'down' ? { reason: p.reason } : {}),
            ...(p ? { since: p.since } : {}),
            ...(p?.lastCheckAt !== undefined ? { lastCheckAt: p.lastCheckAt, lastCheckMs: p.lastCheckMs } : {}),
            ...(last ? { lastResult: last.ok ? last.detail : last.reason } : {}),
            okStreak: p?.okStreak ?? 0,
            failStreak: p?.failStreak ?? 0,
            checks: p?.checks ?? 0,
            failures: p?.failures ?? 0,
            downTransitions: p?.downTransitions ?? 0,
          };
        }),
      };
    }),
  };
}
