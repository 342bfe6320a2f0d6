import { fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import { HealthTransitionSchema, type HealthTransitionWire } from '../common/health-api.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { ViewEvent, ViewSnapshot } from '../common/view.js';
import { SESSION_COOKIE, type Sessions } from './auth/sessions.js';
import { CorrectiveRuns } from './corrective-runs.js';
import { DesiredStates } from './desired-state.js';
import { DriftHub } from './drift-hub.js';
import { ControllerEvents } from './events.js';
import { FindingsLedger } from './findings.js';
import type { HealthHub } from './health-hub.js';
import { HealthDirectors, type DirectorSource } from './health-directors.js';
import type { AgentHub } from './hub.js';
import { ControllerMetrics } from './metrics.js';
import { observeRuns } from './run-observer.js';
import type { RunManager } from './run-manager.js';
import type { Store } from './store.js';
import { findingsRoutes } from './routes/findings.js';
import { viewApiRoutes } from './routes/view-api.js';
import { agentState, buildViewSnapshot, type ViewSources } from './view-snapshot.js';
import { ViewHub } from './view-hub.js';

export interface DriftOptions {
  /** Missed heartbeats after which a connected agent shows as unresponsive (default 3). */
  unresponsiveAfter?: number;
  /** Least time between two corrective runs of one host (default 60 s), doubling while drift recurs up to fixMaxIntervalMs (1 h). */
  fixIntervalMs?: number;
  fixMaxIntervalMs?: number;
  /** The directors' data, when not the health checks' status (tests). */
  directors?: DirectorSource;
  /** A revoked agent (the trust work's certificate state). */
  revoked?: (name: string) => boolean;
}

export interface DriftParts {
  ledger: FindingsLedger;
  desired: DesiredStates;
  drift: DriftHub;
  corrective: CorrectiveRuns;
  /** Others push their events here (enrollments, ...). */
  events: ControllerEvents;
  metrics: ControllerMetrics;
  view: ViewHub;
  /** What the view shows now; `fresh` asks the directors first when what is known is old. */
  snapshot(): ViewSnapshot;
  freshSnapshot(): Promise<ViewSnapshot>;
  /** An agent forgotten: its held state, findings and last run go. */
  forget(name: string): void;
  close(): void;
}

/** A health transition as the view's event line. */
function healthEvent(host: string, t: HealthTransitionWire): Omit<ViewEvent, 'at'> {
  const svc = t.service.replace(/^(\w+):/, (_m, p: string) => `${p.toUpperCase()} `);
  if (t.kind === 'realserver') return { kind: 'health', host, level: t.to === 'down' ? 'warn' : 'info', text: `real server ${t.realServer} of ${svc} ${t.to}: ${t.reason}` };
  if (t.kind === 'quorum') return { kind: 'health', host, level: t.to === 'lost' ? 'error' : 'info', text: `${svc}: ${t.reason} (live weight ${t.liveWeight}, quorum ${t.quorum})` };
  if (t.kind === 'sorry') return { kind: 'health', host, level: t.to === 'in' ? 'warn' : 'info', text: `${svc}: ${t.reason} (${t.realServer})` };
  return { kind: 'health', host, level: 'info', text: `real server ${t.realServer} of ${svc} ${t.reason}` };
}

/**
 * Drift, the live view and metrics, wired onto the controller: the findings ledger and held
 * desired states in the store, the agents' reports, the `fix` policy, run observation, recent
 * events, the directors from the health checks, the `/view` namespace and the routes
 * (GET /api/findings, /api/findings/history, /api/view, /metrics).
 */
export function wireDrift(
  app: FastifyInstance,
  o: { store: Store; hub: AgentHub; runs: RunManager; health: Pick<HealthHub, 'status'>; sessions: Sessions; log?: Logger; options?: DriftOptions },
): DriftParts {
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
  const facts = () => Object.fromEntries(Object.values(store.data.agents).map((a) => [a.name, a.facts]));
  const healthDirectors = new HealthDirectors(() => o.health.status(), facts, { changed });
  const directors = opts.directors ?? healthDirectors;

  ledger.onEvent((e) => {
    if (e.kind === 'changed') return;
    const f = e.finding;
    events.push({ kind: e.kind === 'found' ? 'drift-found' : 'drift-resolved', host: f.host, level: e.kind === 'found' ? 'warn' : 'info', text: e.kind === 'found' ? f.text : `resolved: ${f.text}` });
  });
  hub.onAgent((name, socket) => {
    events.push({ kind: 'agent', host: name, level: 'info', text: 'agent connected' });
    socket.on('facts', changed);
    socket.on('health:transition', (raw) => {
      const t = HealthTransitionSchema.safeParse(raw);
      if (!t.success) return;
      events.push(healthEvent(name, t.data));
      healthDirectors.invalidate();
    });
    socket.on('disconnect', (reason) => {
      // A connection replaced by a newer one of the same agent is no disconnection.
      if (hub.socketOf(name) && hub.socketOf(name) !== socket) return;
      events.push({ kind: 'agent', host: name, level: 'warn', text: `agent disconnected (${reason})` });
    });
  });
  hub.onRefused((r) => events.push({ kind: 'refusal', ...(r.agent ? { host: r.agent } : {}), level: 'error', text: `agent refused from ${r.peer}: ${r.reason}` }));
  events.listen(changed);
  const stopRuns = observeRuns(runs, store, events, metrics, changed);

  const sources: ViewSources = {
    agents: () => hub.agents(),
    liveness: (n) => hub.liveness(n),
    desired: (h) => desired.get(h),
    openFindings: (h) => ledger.open(h),
    lastRun: (h) => store.data.lastRuns?.[h],
    // Enough for a screen: the page is for what happens now, the logs keep the rest.
    events: () => events.recent(40),
    directors,
    unresponsiveAfter: opts.unresponsiveAfter,
    revoked: opts.revoked,
    now: () => Date.now(),
  };
  const snapshot = () => buildViewSnapshot(sources);
  const freshSnapshot = async () => {
    await directors.fresh();
    return snapshot();
  };
  view = new ViewHub({ io: hub.io as never, snapshot, signedIn: (c) => !!c && !!o.sessions.lookup(fastifyCookie.parse(c)[SESSION_COOKIE]) });

  findingsRoutes(app, { ledger, desired, drift, agentState: (n) => agentState(sources, n) });
  viewApiRoutes(app, { snapshot: freshSnapshot, metrics });

  return {
    ledger,
    desired,
    drift,
    corrective,
    events,
    metrics,
    view,
    snapshot,
    freshSnapshot,
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
