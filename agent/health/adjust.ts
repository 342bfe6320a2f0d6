import { realServerKey, serviceKey, type RealServer, type VirtualService } from '../ipvs/table.js';
import type { HealthConfig } from './config.js';
import type { HealthStates } from './quorum.js';
import { probeId, type HealthTransition, type RsState } from './types.js';

/** What the declared table is adjusted by. */
export interface HealthView {
  /** By probeId; a real server not listed is up (never checked, no alpha). */
  states: HealthStates;
  /** Keys of the services whose quorum is lost. */
  quorumLost: ReadonlySet<string>;
  /** Real server addresses an operator drained (`ctl drain HOST`): weight 0 in every service. */
  drained: ReadonlySet<string>;
}

/** One real server's line for reports: `down (HTTP 503)`, `drained`, `up`. */
export interface RealServerNote {
  service: string;
  realServer: string;
  declaredWeight: number;
  /** The weight the table gets; null when the real server is left out of it. */
  weight: number | null;
  state: RsState;
  drained: boolean;
  /** The service's sorry server, in while quorum is lost. */
  sorry: boolean;
  note: string;
}

export interface Adjusted {
  /** The declared services with health applied: what the ipvs module plans against. */
  services: VirtualService[];
  notes: RealServerNote[];
}

/** A real server whose weight the adjustment moved; null means absent from the table. */
export interface RealServerChange {
  service: string;
  realServer: string;
  from: number | null;
  to: number | null;
}

/**
 * The health-adjusted desired table, a pure function of the declaration and the current view:
 * a down real server gets weight 0 (`on_failure: inhibit`) or leaves the table (`remove`); a
 * drained one gets weight 0; while quorum is lost the sorry server comes in at weight 1 and, as
 * keepalived does, the servers still up go out, so that clients see one consistent answer.
 */
export function adjust(config: HealthConfig, view: HealthView): Adjusted {
  const notes: RealServerNote[] = [];
  const services = config.services.map((s) => {
    const service = serviceKey(s.service);
    const sorryIn = view.quorumLost.has(service) && s.sorryServer !== undefined;
    const realServers: RealServer[] = [];
    for (const r of s.service.realServers) {
      const key = realServerKey(r);
      const check = s.checks[key] ?? { type: 'none' as const };
      const health = check.type === 'none' ? undefined : view.states[probeId(service, key)];
      const state = health?.state ?? 'up';
      const drained = view.drained.has(r.address);
      const out = check.type !== 'none' && check.on_failure === 'remove' ? null : 0;
      let weight: number | null = r.weight;
      let note = check.type === 'none' ? 'up (no check)' : 'up';
      if (state === 'down') {
        weight = out;
        note = `down (${health?.reason ?? 'failed'})${drained ? ', drained' : ''}`;
      } else if (drained) {
        weight = 0;
        note = 'drained';
      } else if (sorryIn) {
        weight = out;
        note = 'up, out while the sorry server is in';
      }
      if (weight !== null) realServers.push({ ...r, weight });
      notes.push({ service, realServer: key, declaredWeight: r.weight, weight, state, drained, sorry: false, note });
    }
    if (sorryIn) {
      const sorry = { ...s.sorryServer!, weight: 1 };
      realServers.push(sorry);
      notes.push({ service, realServer: realServerKey(sorry), declaredWeight: 1, weight: 1, state: 'up', drained: false, sorry: true, note: 'sorry server (quorum lost)' });
    }
    return { ...s.service, realServers };
  });
  return { services, notes };
}

/** Weights by probeId, the way changedRealServers compares tables. */
export function weightsOf(a: Adjusted): Map<string, number | null> {
  return new Map(a.notes.map((n) => [probeId(n.service, n.realServer), n.weight]));
}

/** The declared weights: what the table holds when health has changed nothing. */
export function declaredWeights(config: HealthConfig): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const s of config.services) for (const r of s.service.realServers) out.set(probeId(serviceKey(s.service), realServerKey(r)), r.weight);
  return out;
}

/** The real servers whose weight or presence differs between a table's weights and an adjusted one. */
export function changedRealServers(before: ReadonlyMap<string, number | null>, after: Adjusted): RealServerChange[] {
  const changes: RealServerChange[] = [];
  const seen = new Set<string>();
  for (const n of after.notes) {
    const id = probeId(n.service, n.realServer);
    seen.add(id);
    const from = before.has(id) ? before.get(id)! : null;
    if (from !== n.weight) changes.push({ service: n.service, realServer: n.realServer, from, to: n.weight });
  }
  for (const [id, from] of before) {
    if (seen.has(id) || from === null) continue;
    const [service, realServer] = id.split(' ');
    changes.push({ service, realServer, from, to: null });
  }
  return changes;
}

/** "drained" / "undrained" for every configured real server whose address entered or left the drained set. */
export function drainTransitions(config: HealthConfig, before: ReadonlySet<string>, after: ReadonlySet<string>, at: number): Extract<HealthTransition, { kind: 'drain' }>[] {
  const out: Extract<HealthTransition, { kind: 'drain' }>[] = [];
  for (const s of config.services) {
    const service = serviceKey(s.service);
    for (const r of s.service.realServers) {
      const was = before.has(r.address);
      if (was === after.has(r.address)) continue;
      const realServer = realServerKey(r);
      out.push(
        was
          ? { kind: 'drain', service, realServer, from: 'drained', to: 'serving', reason: 'undrained', at }
          : { kind: 'drain', service, realServer, from: 'serving', to: 'drained', reason: 'drained', at },
      );
    }
  }
  return out;
}
