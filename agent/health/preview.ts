import { realServerKey, serviceKey } from '../ipvs/table.js';
import { adjust, type Adjusted, type HealthView } from './adjust.js';
import type { HealthConfig } from './config.js';
import { liveWeight, quorumHeld } from './quorum.js';
import { NOT_CHECKED } from './scheduler.js';
import { probeId, type RsState } from './types.js';

/**
 * The adjusted table a declaration would get now, from the current view, changing nothing (for
 * check mode and planning): servers already checked keep their state; new ones start as the
 * scheduler would start them (down under alpha); a service not known yet gets its first quorum
 * state from those.
 */
export function previewAdjusted(cfg: HealthConfig, now: HealthView & { knownServices: ReadonlySet<string> }): Adjusted {
  const states: Record<string, { state: RsState; reason?: string }> = { ...now.states };
  const lost = new Set(now.quorumLost);
  for (const s of cfg.services) {
    const service = serviceKey(s.service);
    for (const r of s.service.realServers) {
      const id = probeId(service, realServerKey(r));
      const c = s.checks[realServerKey(r)];
      if (!(id in states) && c && c.type !== 'none' && c.alpha) states[id] = { state: 'down', reason: NOT_CHECKED };
    }
    if (!now.knownServices.has(service) && !quorumHeld(true, liveWeight(s, states, now.drained), s)) lost.add(service);
  }
  return adjust(cfg, { states, quorumLost: lost, drained: now.drained });
}
