import type { DirectorStatus, StatusResponse } from '../common/health-api.js';
import type { HostFacts } from '../common/protocol.js';
import type { ViewDirector, ViewRealServer } from '../common/view.js';

/** Where the view's directors come from (the health checks' status by default). */
export interface DirectorSource {
  /** What is known now (never waits). */
  directors(): ViewDirector[];
  /** Asks again when what is known is older than the source's own limit. */
  fresh(): Promise<void>;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const label = (key: string) => key.replace(/^(\w+):/, (_m, p: string) => `${p.toUpperCase()} `);

/** One director of `GET /api/status` as the view shows it: each real server like a stats page's backend. */
export function viewDirector(d: DirectorStatus, hostOf: (address: string) => string | undefined): ViewDirector {
  return {
    host: d.host,
    services: d.services.map((s) => ({
      key: s.service,
      label: label(s.service),
      scheduler: s.scheduler ?? '',
      connRate: s.cps,
      ...(s.sorryServer ? { sorry: s.sorryServer.in } : {}),
      realServers: s.realServers.map((r): ViewRealServer => {
        const host = hostOf(r.address);
        return {
          address: r.realServer,
          ...(host ? { host } : {}),
          ...(r.forwarding && r.forwarding !== 'local' ? { forwarding: r.forwarding } : {}),
          weight: { declared: r.declaredWeight ?? 0, live: r.liveWeight },
          health: {
            state: r.state,
            ...(r.reason !== undefined && r.state === 'down' ? { reason: r.reason } : {}),
            ...(r.lastCheckAt !== undefined ? { lastCheck: iso(r.lastCheckAt) } : {}),
            ...(r.lastCheckMs !== undefined ? { checkMs: r.lastCheckMs } : {}),
            ...(r.since !== undefined ? { since: iso(r.since) } : {}),
          },
          drained: r.drained,
          activeConn: r.activeConn,
          inactConn: r.inActConn,
          connRate: r.cps,
        };
      }),
    })),
  };
}

/**
 * The directors as the health checks report them (HealthHub.status: each director's checker
 * snapshot and kernel counters), kept for `maxAgeMs`: the view asks every second, a director is
 * asked at most that often (each answer runs two ipvsadm listings there).
 */
export class HealthDirectors implements DirectorSource {
  private known: ViewDirector[] = [];
  private at = -Infinity;
  private asking: Promise<void> | undefined;

  constructor(
    private readonly status: () => Promise<StatusResponse>,
    private readonly facts: () => Record<string, HostFacts | undefined>,
    private readonly o: { maxAgeMs?: number; changed?: () => void; now?: () => number } = {},
  ) {}

  directors(): ViewDirector[] {
    if (this.stale()) void this.fresh();
    return this.known;
  }

  /** Something changed on a director (a health transition): ask at the next look. */
  invalidate(): void {
    this.at = -Infinity;
  }

  fresh(): Promise<void> {
    if (!this.stale()) return Promise.resolve();
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  private stale(): boolean {
    return (this.o.now ?? Date.now)() - this.at >= (this.o.maxAgeMs ?? 5000);
  }

  private async ask(): Promise<void> {
    const byAddress = new Map<string, string>();
    for (const [name, f] of Object.entries(this.facts())) for (const i of f?.interfaces ?? []) if (i.ip4) byAddress.set(i.ip4, name);
    let next: ViewDirector[];
    try {
      next = (await this.status()).directors.map((d) => viewDirector(d, (a) => byAddress.get(a)));
    } catch {
      return;
    }
    this.at = (this.o.now ?? Date.now)();
    const changed = JSON.stringify(next) !== JSON.stringify(this.known);
    this.known = next;
    if (changed) this.o.changed?.();
  }
}
