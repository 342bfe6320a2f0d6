import { realServerKey, serviceKey } from '../ipvs/table.js';
import type { ServiceHealth } from './config.js';
import { probeId, type HealthTransition, type RsState } from './types.js';

/** The health states adjust() and quorum read: by probeId; a real server not listed is up. */
export type HealthStates = Readonly<Record<string, { state: RsState; reason?: string }>>;

/**
 * The sum of the declared weights of the real servers that are up and not drained: the weight
 * the service can still serve with, before quorum itself takes anything out.
 */
export function liveWeight(s: ServiceHealth, states: HealthStates, drained: ReadonlySet<string>): number {
  const svc = serviceKey(s.service);
  return s.service.realServers
    .filter((r) => !drained.has(r.address) && (states[probeId(svc, realServerKey(r))]?.state ?? 'up') === 'up')
    .reduce((sum, r) => sum + r.weight, 0);
}

/**
 * keepalived's rule (check/ipwrapper.c update_quorum_state): a held quorum is lost when the live
 * weight is 0 or below quorum - hysteresis; a lost one is regained at quorum + hysteresis. Between
 * the two the state stays as it was, so one flapping server does not flap the service.
 */
export function quorumHeld(held: boolean, live: number, q: Pick<ServiceHealth, 'quorum' | 'hysteresis'>): boolean {
  if (held) return !(live === 0 || live < q.quorum - q.hysteresis);
  return live >= q.quorum + q.hysteresis;
}

export type QuorumTransition = Extract<HealthTransition, { kind: 'quorum' | 'sorry' }>;

/** The next quorum state of a service and the transitions on the way ("quorum lost", "sorry server in"). */
export function stepQuorum(s: ServiceHealth, held: boolean, live: number, at: number): { held: boolean; transitions: QuorumTransition[] } {
  const next = quorumHeld(held, live, s);
  if (next === held) return { held, transitions: [] };
  const service = serviceKey(s.service);
  const transitions: QuorumTransition[] = [
    {
      kind: 'quorum',
      service,
      from: held ? 'held' : 'lost',
      to: next ? 'held' : 'lost',
      reason: next ? 'quorum regained' : 'quorum lost',
      at,
      liveWeight: live,
      quorum: s.quorum,
      hysteresis: s.hysteresis,
    },
  ];
  if (s.sorryServer) {
    const realServer = realServerKey(s.sorryServer);
    transitions.push(
      next
        ? { kind: 'sorry', service, realServer, from: 'in', to: 'out', reason: 'sorry server out', at }
        : { kind: 'sorry', service, realServer, from: 'out', to: 'in', reason: 'sorry server in', at },
    );
  }
  return { held: next, transitions };
}
