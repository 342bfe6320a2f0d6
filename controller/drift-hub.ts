import { DriftReportSchema, type DesiredState } from '../common/desired-state.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { DesiredStates } from './desired-state.js';
import type { FindingsLedger } from './findings.js';
import type { AgentHub, AgentSocket } from './hub.js';
import type { RunManager, RunSpec } from './run-manager.js';
import type { RunRecord } from './run-record.js';

/** When a host's watch last reported, and against which revision of its held state. */
export interface WatchState {
  reportedAt: string;
  revision: number;
  open: number;
}

export interface DriftHubOptions {
  hub: Pick<AgentHub, 'onAgent' | 'socketOf'>;
  runs: Pick<RunManager, 'watch'>;
  desired: DesiredStates;
  ledger: FindingsLedger;
  log?: Logger;
  clock?: () => Date;
  /** A host's findings changed (the live view refreshes). */
  changed?(host: string): void;
  /** A host's watch reported a check of the state held for it (the fix policy looks at it). */
  reported?(host: string): void;
}

/**
 * The controller's side of the drift watch: after each applying run it records and pushes each
 * host's held desired state (every host of the run gets a push, which also ends the pause of
 * its watch), pushes it again at every connect, and takes the agents' findings into the ledger.
 */
export class DriftHub {
  private readonly watches = new Map<string, WatchState>();
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly stops: (() => void)[] = [];

  constructor(private readonly o: DriftHubOptions) {
    this.log = o.log ?? silentLogger;
    this.clock = o.clock ?? (() => new Date());
    o.hub.onAgent((name, socket) => this.connected(name, socket));
    this.stops.push(o.runs.watch({ ended: (run, spec) => this.runEnded(run, spec) }));
  }

  close(): void {
    for (const s of this.stops) s();
  }

  watch(host: string): WatchState | undefined {
    return this.watches.get(host);
  }

  /** Drops what is known of a forgotten host: its held state, and its open findings are resolved. */
  forget(host: string): void {
    this.watches.delete(host);
    this.o.desired.forget(host);
    if (this.o.ledger.open(host).length) this.o.ledger.report(host, [], this.clock());
    this.o.changed?.(host);
  }

  private connected(name: string, socket: AgentSocket): void {
    socket.on('drift:findings', (raw) => this.findings(name, raw));
    const held = this.o.desired.get(name);
    if (held) this.push(name, held);
  }

  private push(name: string, state: DesiredState): void {
    const socket = this.o.hub.socketOf(name);
    if (!socket) return;
    socket.emit('desired:set', state);
    this.log.debug({ agent: name, revision: state.revision }, 'desired state pushed');
  }

  /** Every host of an applying run is told what to hold now: the run is over, its watch goes on. */
  private runEnded(run: RunRecord, spec: RunSpec): void {
    if (run.check) return;
    const changed = this.o.desired.recordRun(run, spec);
    if (changed.length) this.log.info({ run: run.id, hosts: changed }, 'desired state recorded');
    for (const host of Object.keys(run.hosts)) {
      const held = this.o.desired.get(host);
      this.push(host, held ?? { host, revision: 0, updatedAt: this.clock().toISOString(), slots: [] });
    }
  }

  private findings(host: string, raw: unknown): void {
    const r = DriftReportSchema.safeParse(raw);
    if (!r.success) {
      this.log.warn({ agent: host, err: r.error.issues[0]?.message, field: r.error.issues[0]?.path.join('.') }, 'drift report refused');
      return;
    }
    const held = this.o.desired.get(host);
    // A check of a state this controller no longer holds (it was replaced meanwhile) says nothing now.
    if (held && r.data.revision !== held.revision) {
      this.log.debug({ agent: host, revision: r.data.revision, held: held.revision }, 'drift report of an older desired state dropped');
      return;
    }
    const at = this.clock();
    const result = this.o.ledger.report(host, r.data.all, at);
    this.watches.set(host, { reportedAt: at.toISOString(), revision: r.data.revision, open: r.data.all.length });
    if (result.found.length || result.changed.length || result.resolved.length) this.o.changed?.(host);
    this.o.reported?.(host);
  }
}
