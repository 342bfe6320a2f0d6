import type { DesiredSlot, DesiredState } from '../common/desired-state.js';
import type { FactsOverride } from '../common/protocol.js';
import { hostClean, type RunRecord } from './run-record.js';
import type { RunSpec } from './run-manager.js';
import type { Store } from './store.js';

/**
 * Each host's held desired state, in the store: after an applying run, every host whose part
 * went through cleanly takes the tasks of each role slot the run applied there; slots the run
 * did not touch stay as they were. A failed or partial host keeps what it held: what it was
 * last known to be converged to.
 */
export class DesiredStates {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get(host: string): DesiredState | undefined {
    return this.store.data.desired?.[host];
  }

  hosts(): string[] {
    return Object.keys(this.store.data.desired ?? {}).sort();
  }

  /** The hosts whose held state this run changed (an ended applying run with desired slots). */
  recordRun(run: RunRecord, spec: Pick<RunSpec, 'desired' | 'plays'>): string[] {
    if (run.check || run.stopped || !spec.desired) return [];
    const changed: string[] = [];
    for (const [host, slots] of Object.entries(spec.desired)) {
      const h = run.hosts[host];
      if (!h || !hostClean(h) || !slots.length) continue;
      const override = spec.plays.map((p) => p.factsOverride?.[host]).filter((o): o is FactsOverride => !!o).at(-1);
      this.merge(host, slots.map((s) => ({ ...s, runId: run.id, appliedAt: run.finishedAt ?? this.clock().toISOString() })), override);
      changed.push(host);
    }
    return changed;
  }

  private merge(host: string, slots: DesiredSlot[], factsOverride: FactsOverride | undefined): void {
    const all = (this.store.data.desired ??= {});
    const old = all[host];
    const next = [...(old?.slots ?? [])];
    for (const s of slots) {
      const i = next.findIndex((x) => x.slot === s.slot);
      if (i >= 0) next[i] = s;
      else next.push(s);
    }
    all[host] = {
      host,
      revision: (old?.revision ?? 0) + 1,
      updatedAt: this.clock().toISOString(),
      slots: next,
      ...(factsOverride ? { factsOverride } : {}),
    };
    this.store.touch();
  }

  forget(host: string): boolean {
    if (!this.store.data.desired?.[host]) return false;
    delete this.store.data.desired[host];
    this.store.touch();
    return true;
  }
}
