import type { FastifyInstance } from 'fastify';
import { silentLogger, type Logger } from '../common/log.js';
import type { ViewSnapshot } from '../common/view.js';
import type { Sessions } from './auth/sessions.js';
import { CorrectiveRuns } from './corrective-runs.js';
import { DesiredStates } from './desired-state.js';
import { DriftHub } from './drift-hub.js';
import { ControllerEvents } from './events.js';
import { FindingsLedger } from './findings.js';
import type { AgentHub } from './hub.js';
import { IpvsDirectors, type DirectorSource } from './ipvs-directors.js';
import { ControllerMetrics } from './metrics.js';
import { observeRuns } from './run-observer.js';
import type { RunManager } from './run-manager.js';
import type { Store } from './store.js';
import { findingsRoutes } from './routes/findings.js';
import { sessionOf } from './routes/login.js';
import { viewApiRoutes } from './routes/view-api.js';
import { agentState, buildViewSnapshot, type ViewSources } from './view-snapshot.js';
import { ViewHub } from './view-hub.js';

export interface DriftOptions {
  /** Missed heartbeats after which a connected agent shows as unresponsive (default 3). */
  unresponsiveAfter?: number;
  /** Least time between two corrective runs of one host (default 60 s), doubling while drift recurs up to fixMaxIntervalMs (1 h). */
  fixIntervalMs?: number;
  fixMaxIntervalMs?: number;
  /** Directors' data other than the agents' own IPVS reports (health checks add their states). */
  directors?: (fromReports: DirectorSource) => DirectorSource;
  /** Hook for the trust work: a revoked agent. */
  revoked?: (name: string) => boolean;
}

export interface DriftParts {
  ledger: FindingsLedger;
  desired: DesiredStates;
  drift: DriftHub;
  corrective: CorrectiveRuns;
  /** Others push their events here (health transitions, enrollments). */
  events: ControllerEvents;
  metrics: ControllerMetrics;
  view: ViewHub;
  snapshot(): ViewSnapshot;
  /** An agent forgotten: its held state, findings, table and last run go. */
  forget(name: string): void;
  close(): void;
}

/**
 * Drift, the live view and metrics, wired onto the controller: the findings ledger and held
 * desired states in the store, the agents' reports, the `fix` policy, run observation, the
 * `/view` namespace and the routes (GET /api/findings, /api/findings/history, /api/view, /metrics).
 */
export function wireDrift(app: FastifyInstance, o: { store: Store; hub: AgentHub; runs: RunManager; sessions: Sessions; log?: Logger; options?: DriftOptions }): DriftParts {
  const log = o.log ?? silentLogger;
  const opts = o.options ?? {};
  const { store, hub, runs } = o;
  const events = new ControllerEvents();
  const metrics = new ControllerMetrics();
  const ledger = new FindingsLedger({
    persistence: {
      load: () => store.data.findings,
      save: (s) => {
        store.data.findings = s;
        store.touch();
      },
    },
  });
  const desired = new DesiredStates(store);
  let view: ViewHub | undefined;
  const changed = () => view?.changed();
  const corrective = new CorrectiveRuns({ runs, desired, ledger, events, log: log.child({ component: 'drift' }), minIntervalMs: opts.fixIntervalMs, maxIntervalMs: opts.fixMaxIntervalMs });
  // Every report, not only new findings: a state newly held with policy fix repairs what was already open.
  const drift = new DriftHub({ hub, runs, desired, ledger, log: log.child({ component: 'drift' }), changed, reported: (h) => corrective.consider(h) });

  ledger.onEvent((e) => {
    if (e.kind === 'changed') return;
    const f = e.finding;
    events.push({ kind: e.kind === 'found' ? 'drift-found' : 'drift-resolved', host: f.host, level: e.kind === 'found' ? 'warn' : 'info', text: e.kind === 'found' ? f.text : `resolved: ${f.text}` });
  });
  hub.listen({
    connected: (name) => {
      events.push({ kind: 'agent', host: name, level: 'info', text: 'agent connected' });
      changed();
    },
    disconnected: (name, reason) => {
      events.push({ kind: 'agent', host: name, level: 'warn', text: `agent disconnected (${reason})` });
      changed();
    },
    facts: changed,
    refused: (r) => {
      events.push({ kind: 'refusal', ...(r.agent ? { host: r.agent } : {}), level: 'error', text: `agent refused from ${r.peer}: ${r.reason}` });
      changed();
    },
  });
  events.listen(changed);
  const stopRuns = observeRuns(runs, store, events, metrics, changed);

  const fromReports = new IpvsDirectors({
    reported: () => drift.ipvsHosts(),
    ipvs: (h) => drift.ipvs(h),
    held: () => desired.hosts(),
    desired: (h) => desired.get(h),
    facts: () => Object.fromEntries(Object.values(store.data.agents).map((a) => [a.name, a.facts])),
  });
  const sources: ViewSources = {
    agents: () => hub.agents(),
    liveness: (n) => hub.liveness(n),
    desired: (h) => desired.get(h),
    openFindings: (h) => ledger.open(h),
    lastRun: (h) => store.data.lastRuns?.[h],
    // Enough for a screen: the page is for what happens now, the logs keep the rest.
    events: () => events.recent(40),
    directors: opts.directors?.(fromReports) ?? fromReports,
    unresponsiveAfter: opts.unresponsiveAfter,
    revoked: opts.revoked,
    now: () => Date.now(),
  };
  const snapshot = () => buildViewSnapshot(sources);
  view = new ViewHub({ io: hub.io as never, snapshot, signedIn: (c) => !!sessionOf(o.sessions, c) });

  findingsRoutes(app, { ledger, desired, drift, agentState: (n) => agentState(sources, n) });
  viewApiRoutes(app, { snapshot, metrics });

  return {
    ledger,
    desired,
    drift,
    corrective,
    events,
    metrics,
    view,
    snapshot,
    forget(name) {
      drift.forget(name);
      if (store.data.lastRuns?.[name]) {
        delete store.data.lastRuns[name];
        store.touch();
      }
    },
    close() {
      view?.close();
      corrective.close();
      drift.close();
      stopRuns();
    },
  };
}
