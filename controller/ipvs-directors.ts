import type { DesiredState } from '../common/desired-state.js';
import type { HostFacts } from '../common/protocol.js';
import type { ViewDirector, ViewRealServer, ViewService } from '../common/view.js';
import { desiredServices } from '../agent/modules/ipvs.js';
import { MODULES } from '../agent/modules/index.js';
import { serviceKey, realServerKey, type VirtualService } from '../agent/ipvs/table.js';
import { serviceLabel } from '../agent/ipvs/describe.js';
import type { ReceivedIpvs } from './drift-hub.js';

/**
 * Where the view's directors come from. The default reads the directors' own IPVS reports
 * against their held ipvs tasks; health checks (another part of the controller) provide a
 * source that adds each real server's health, or wrap this one.
 */
export interface DirectorSource {
  directors(): ViewDirector[];
}

export interface IpvsDirectorsInput {
  /** Hosts with an IPVS report. */
  reported(): string[];
  ipvs(host: string): ReceivedIpvs | undefined;
  /** Hosts with a held desired state. */
  held(): string[];
  desired(host: string): DesiredState | undefined;
  /** Facts of every known agent (addresses name the real servers' hosts). */
  facts(): Record<string, HostFacts | undefined>;
}

/** The declared services of a host's held ipvs tasks, as the ipvs module parses them. */
export function heldServices(state: DesiredState | undefined): VirtualService[] {
  const mod = MODULES.get('ipvs');
  if (!state || !mod) return [];
  const out: VirtualService[] = [];
  for (const t of state.slots.flatMap((s) => s.tasks)) {
    if (t.module !== 'ipvs' || t.skip) continue;
    const parsed = mod.schema.safeParse(t.args);
    if (parsed.success) out.push(...desiredServices(parsed.data as Parameters<typeof desiredServices>[0]));
  }
  return out;
}

/**
 * Directors from what their agents report: every service declared or live, each real server
 * with its declared weight (0 when not declared) and live weight, counters and rate. Health is
 * unknown here: that comes from the health checks' source.
 */
export class IpvsDirectors implements DirectorSource {
  constructor(private readonly input: IpvsDirectorsInput) {}

  directors(): ViewDirector[] {
    const hostOf = new Map<string, string>();
    for (const [name, facts] of Object.entries(this.input.facts())) for (const i of facts?.interfaces ?? []) if (i.ip4) hostOf.set(i.ip4, name);
    const hosts = new Set([...this.input.reported(), ...this.input.held().filter((h) => heldServices(this.input.desired(h)).length)]);
    return [...hosts].sort().map((host) => ({ host, services: this.services(host, hostOf) }));
  }

  private services(host: string, hostOf: Map<string, string>): ViewService[] {
    const declared = new Map(heldServices(this.input.desired(host)).map((s) => [serviceKey(s), s]));
    const live = new Map((this.input.ipvs(host)?.services ?? []).map((s) => [s.key, s]));
    const keys = [...new Set([...declared.keys(), ...live.keys()])].sort();
    return keys.map((key) => {
      const d = declared.get(key);
      const l = live.get(key);
      const dServers = new Map((d?.realServers ?? []).map((r) => [realServerKey(r), r]));
      const lServers = new Map((l?.realServers ?? []).map((r) => [r.key, r]));
      const rsKeys = [...new Set([...dServers.keys(), ...lServers.keys()])];
      const realServers: ViewRealServer[] = rsKeys.map((rk) => {
        const dr = dServers.get(rk);
        const lr = lServers.get(rk);
        const address = rk.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
        const fwd = dr?.forwarding ?? (lr?.forwarding !== 'local' ? lr?.forwarding : undefined);
        const owner = hostOf.get(address);
        return {
          address: rk,
          ...(owner ? { host: owner } : {}),
          ...(fwd ? { forwarding: fwd } : {}),
          weight: { declared: dr?.weight ?? 0, live: lr ? lr.weight : null },
          health: { state: 'unknown' },
          drained: false,
          activeConn: lr ? lr.activeConn : null,
          inactConn: lr ? lr.inactConn : null,
          connRate: lr ? lr.connRate : null,
        };
      });
      return {
        key,
        label: l?.label ?? (d ? serviceLabel(d) : key),
        scheduler: l?.scheduler ?? d?.scheduler ?? '',
        connRate: l ? l.connRate : null,
        realServers,
      };
    });
  }
}
