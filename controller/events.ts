import type { ViewEvent } from '../common/view.js';

export type ControllerEvent = Omit<ViewEvent, 'at'> & { at?: string };

/**
 * Recent events of the cluster for the live view and `ctl status`: runs, drift found and
 * resolved, agents coming and going, refusals; other parts of the controller (health
 * transitions, enrollments) push theirs here too. Newest first, the last `limit` kept in memory.
 */
export class ControllerEvents {
  private list: ViewEvent[] = [];
  private readonly listeners = new Set<(e: ViewEvent) => void>();

  constructor(
    private readonly limit = 200,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  push(e: ControllerEvent): ViewEvent {
    const event: ViewEvent = { ...e, at: e.at ?? this.clock().toISOString() };
    this.list.unshift(event);
    if (this.list.length > this.limit) this.list.length = this.limit;
    for (const l of this.listeners) l(event);
    return event;
  }

  /** Newest first. */
  recent(n = this.limit): ViewEvent[] {
    return this.list.slice(0, n);
  }

  /** Listens to every new event; returns the function that stops listening. */
  listen(l: (e: ViewEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
