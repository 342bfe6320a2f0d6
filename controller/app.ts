import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { CtlError, isCtlError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { AgentHub } from './hub.js';
import { RunManager } from './run-manager.js';
import { RunRecovery } from './run-recovery.js';
import { Store, type StoreLog } from './store.js';
import { agentRoutes } from './routes/agents.js';
import { runRoutes } from './routes/runs.js';
import { viewPage } from './view/routes.js';
import { wireDrift, type DriftOptions, type DriftParts } from './drift-wiring.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { HealthHub } from './health-hub.js';
import { HealthRecords } from './health-records.js';
import { loadSchedules, Scheduler } from './schedules.js';
import { useZodSchemas, type ZodTypeProvider } from './zod-schemas.js';
import { HealthResponseSchema, ScheduleListSchema } from '../common/api.js';
import type { PlanEnv } from './plan-run.js';
import { DebugRequestLog } from './request-log.js';
import path from 'node:path';
import { certificateAuthenticator, tokenAuthenticator } from './agent-auth.js';
import { devTokenAuth, routeOf, trustApiAuth, useApiAuth } from './api-auth.js';
import { openTrust, type Trust } from './trust.js';
import { tlsServerFactory } from './tls-server.js';
import { enrollRoutes } from './routes/enroll.js';
import { loginRoutes } from './routes/login.js';
import { trustAdminRoutes } from './routes/trust-admin.js';

export interface ControllerOptions {
  dataDir: string;
  /**
   * The `--insecure-http` dev controller: plain HTTP, and this one shared token for the API
   * and the agents. Left out (the default), the controller speaks TLS with the data folder's
   * CA (`ctl controller init`), agents prove themselves with certificates and the API takes
   * named tokens.
   */
  token?: string;
  /** Where roles/, inventories and playbooks are read from. */
  projectDir: string;
  /** pino (fastify's own logger); silent when left out. */
  logger?: Logger;
  /** Drift checks and enforcing runs on a timer; `<projectDir>/schedules.yml` when left out. */
  schedulesFile?: string;
  /** A host that does not finish a play's tasks within this is given up (default 1 h). */
  jobTimeoutMs?: number;
  /** Operator runs kept in history (default 200); scheduled runs are kept apart (keepScheduled, 200). */
  keepRuns?: number;
  keepScheduled?: number;
  /** Runs older than this many days are dropped (default 30). */
  keepDays?: number;
  /** How often a failed store write is tried again (default 5 s). */
  storeRetryMs?: number;
  /** Where store write errors are logged (default: stderr). */
  log?: StoreLog;
  /** Drift, the live view, metrics: unresponsive agents, the fix policy's rate limit. */
  drift?: DriftOptions;
  /** A token that may read /metrics only (a Prometheus scrape job's). */
  metricsToken?: string;
}

export interface Controller {
  app: FastifyInstance;
  hub: AgentHub;
  store: Store;
  runs: RunManager;
  scheduler: Scheduler;
  /** The CA, enrollment and API tokens; undefined on an `--insecure-http` controller. */
  trust: Trust | undefined;
  recovery: RunRecovery;
  health: HealthHub;
  /** Findings, held desired states, events, metrics, the live view (drift-wiring.ts). */
  drift: DriftParts;
  close(): Promise<void>;
}

export async function buildController(opts: ControllerOptions): Promise<Controller> {
  // Schedules first: a bad schedules.yml refuses the start before anything is opened.
  const schedules = await loadSchedules(opts.schedulesFile ?? path.join(opts.projectDir, 'schedules.yml'), opts.projectDir);
  const log = opts.logger ?? silentLogger;
  // Before the store: an uninitialised folder is refused without anything being written to it.
  const trust = opts.token === undefined ? await openTrust(opts.dataDir) : undefined;
  const store = await Store.open(opts.dataDir, {
    keepRuns: opts.keepRuns,
    keepScheduled: opts.keepScheduled,
    keepDays: opts.keepDays,
    retryMs: opts.storeRetryMs,
    log: opts.logger?.child({ component: 'store' }) ?? opts.log,
  });
  // Widened to fastify's logger type: typed as pino's, every route helper would need its generics.
  const loggerInstance: FastifyBaseLogger = log;
  const trustLog = log.child({ component: 'trust' });
  const app = Fastify({ loggerInstance, logController: new DebugRequestLog(), ...(trust ? { serverFactory: tlsServerFactory(trust.pki, trustLog) } : {}) });
  useZodSchemas(app);
  const hub = new AgentHub(app.server, store, trust ? certificateAuthenticator(trust.pki) : tokenAuthenticator(opts.token!), undefined, log.child({ component: 'hub' }));
  const runs = new RunManager(store, hub, opts.jobTimeoutMs, log.child({ component: 'runs' }));
  // Runs a stopped controller left `running` are marked interrupted before anything else runs.
  const recovery = new RunRecovery(store, hub, { log: log.child({ component: 'recovery' }) });
  await recovery.start();
  const healthRecords = new HealthRecords(store);
  const health = new HealthHub(hub, healthRecords, (h) => store.agent(h)?.facts, log.child({ component: 'health' }));

  const apiAuth = trust ? trustApiAuth(trust, opts.dataDir) : devTokenAuth(opts.token!, opts.dataDir);
  await useApiAuth(app, apiAuth, trustLog, opts.metricsToken);
  // Fastify's own 404 echoes the URL, query string and all: name the route without it.
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: new CtlError('CTL_ERR_ROUTE_NOT_FOUND', `no route ${routeOf(req)}`).toJSON() }));

  app.setErrorHandler((err, _req, reply) => {
    if (isCtlError(err)) return reply.code(err.status).send({ error: err.toJSON() });
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation) return reply.code(400).send({ error: new CtlError('CTL_ERR_USAGE', `request: ${e.message}`).toJSON() });
    app.log.error(err);
    return reply.code(e.statusCode ?? 500).send({ error: new CtlError('CTL_ERR_INTERNAL', e.message).toJSON() });
  });

  const planEnv: PlanEnv = {
    projectDir: opts.projectDir,
    ledger: (h, slot) => store.ledger(h, slot),
    facts: (h) => store.agent(h)?.facts,
    online: (h) => hub.isOnline(h),
  };
  const scheduler = new Scheduler(runs, planEnv, log.child({ component: 'schedules' }));
  scheduler.start(schedules);

  const drift = wireDrift(app, { store, hub, runs, health, sessions: apiAuth.sessions, log, options: { ...opts.drift, revoked: (h) => !!trust?.pki.hostState(h)?.revoked } });
  adminRoutes(app, { store, hub, forgotten: (name) => drift.forget(name) });
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/api/schedules', { schema: { response: { 200: ScheduleListSchema } } }, async () => scheduler.list());
  agentRoutes(app, hub);
  runRoutes(app, { store, runs, planEnv });
  viewPage(app);
  loginRoutes(app, apiAuth, trustLog);
  trustAdminRoutes(app, { trust, auth: apiAuth, hub, log: trustLog });
  if (trust) enrollRoutes(app, { trust, log: trustLog, events: drift.events });
  healthRoutes(app, { health, records: healthRecords });

  return {
    app,
    hub,
    store,
    runs,
    scheduler,
    trust,
    recovery,
    health,
    drift,
    async close() {
      drift.close();
      recovery.close();
      await scheduler.stop();
      // Runs going now are recovered at the next start, as after a crash: not ended as unreachable.
      runs.detach();
      await hub.close();
      await app.close();
      await store.close();
    },
  };
}
