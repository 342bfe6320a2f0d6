import type { DrainedHost, HealthEvent, HealthTransitionWire } from '../common/health-api.js';
import type { HealthData } from './store-schema.js';
import type { Store } from './store.js';

/** Transitions kept in store.json: enough for `ctl events` and the live view, bounded so it never grows. */
export const HEALTH_EVENTS_KEPT = 1000;

/**
 * Real-server health in the controller's store: the drained hosts (the source of truth every
 * director gets at connect) and the transitions the directors reported, with their time.
 */
export class HealthRecords {
  constructor(
    private readonly store: Store,
    private readonly keep = HEALTH_EVENTS_KEPT,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get data(): HealthData {
    return (this.store.data.health ??= { drained: {}, events: [] });
  }

  drained(): DrainedHost[] {
    return Object.entries(this.data.drained)
      .map(([host, d]) => ({ host, addresses: [...d.addresses], at: d.at }))
      .sort((a, b) => a.host.localeCompare(b.host));
  }

  /** Every drained address, the set each director holds its real servers at weight 0 for. */
  drainedAddresses(): string[] {
    return [...new Set(Object.values(this.data.drained).flatMap((d) => d.addresses))].sort();
  }

  /** False when the host was drained with these addresses already. */
  drain(host: string, addresses: string[]): boolean {
    const was = this.data.drained[host];
    if (was && was.addresses.join() === addresses.join()) return false;
    this.data.drained[host] = { addresses, at: this.now().toISOString() };
    this.store.touch();
    return true;
  }

  /** What was drained for the host, or undefined when it was not. */
  undrain(host: string): DrainedHost | undefined {
    const was = this.data.drained[host];
    if (!was) return undefined;
    delete this.data.drained[host];
    this.store.touch();
    return { host, ...was };
  }

  addEvent(host: string, t: HealthTransitionWire): HealthEvent {
    const event = { ...t, host, receivedAt: this.now().toISOString() } as HealthEvent;
    const events = this.data.events;
    events.push(event);
    if (events.length > this.keep) events.splice(0, events.length - this.keep);
    this.store.touch();
    return event;
  }

  /** The newest `limit` events (of one director when `host` is given), oldest first. */
  events(o: { limit: number; host?: string }): HealthEvent[] {
    const all = o.host === undefined ? this.data.events : this.data.events.filter((e) => e.host === o.host);
    return all.slice(-o.limit);
  }

  /** Directors that ever reported a transition: listed by `ctl status` also when they do not answer. */
  reportingHosts(): Set<string> {
    return new Set(this.data.events.map((e) => e.host));
  }
}
