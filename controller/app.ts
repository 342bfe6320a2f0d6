import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { fastifyCookie } from '@fastify/cookie';
import { CtlError, isCtlError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { AgentHub } from './hub.js';
import { RunManager } from './run-manager.js';
import { Store, type StoreLog } from './store.js';
import { agentRoutes } from './routes/agents.js';
import { runRoutes } from './routes/runs.js';
import { viewPage } from './view/routes.js';
import { loginRoutes } from './routes/login.js';
import { Sessions } from './auth/sessions.js';
import { requestAuth } from './request-auth.js';
import { wireDrift, type DriftOptions, type DriftParts } from './drift-wiring.js';
import { adminRoutes } from './routes/admin.js';
import { loadSchedules, Scheduler } from './schedules.js';
import { useZodSchemas, type ZodTypeProvider } from './zod-schemas.js';
import { HealthResponseSchema, ScheduleListSchema } from '../common/api.js';
import type { PlanEnv } from './plan-run.js';
import { DebugRequestLog } from './request-log.js';
import path from 'node:path';

export interface ControllerOptions {
  dataDir: string;
  token: string;
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
  /** Findings, held desired states, events, metrics, the view (drift-wiring.ts). */
  drift: DriftParts;
  close(): Promise<void>;
}

export async function buildController(opts: ControllerOptions): Promise<Controller> {
  // Schedules first: a bad schedules.yml refuses the start before anything is opened.
  const schedules = await loadSchedules(opts.schedulesFile ?? path.join(opts.projectDir, 'schedules.yml'), opts.projectDir);
  const log = opts.logger ?? silentLogger;
  const store = await Store.open(opts.dataDir, {
    keepRuns: opts.keepRuns,
    keepScheduled: opts.keepScheduled,
    keepDays: opts.keepDays,
    retryMs: opts.storeRetryMs,
    log: opts.logger?.child({ component: 'store' }) ?? opts.log,
  });
  // Widened to fastify's logger type: typed as pino's, every route helper would need its generics.
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({ loggerInstance, logController: new DebugRequestLog() });
  useZodSchemas(app);
  const hub = new AgentHub(app.server, store, opts.token, undefined, log.child({ component: 'hub' }));
  const runs = new RunManager(store, hub, opts.jobTimeoutMs, log.child({ component: 'runs' }));

  await app.register(fastifyCookie);
  const sessions = Sessions.open(opts.dataDir);
  app.addHook('onRequest', requestAuth({ token: opts.token, sessions, metricsToken: opts.metricsToken }));

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

  const drift = wireDrift(app, { store, hub, runs, sessions, log, options: opts.drift });
  adminRoutes(app, { store, hub, forgotten: (name) => drift.forget(name) });
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/api/schedules', { schema: { response: { 200: ScheduleListSchema } } }, async () => scheduler.list());
  agentRoutes(app, hub);
  runRoutes(app, { store, runs, planEnv });
  viewPage(app);
  loginRoutes(app, { sessions, token: opts.token });

  return {
    app,
    hub,
    store,
    runs,
    scheduler,
    drift,
    async close() {
      await scheduler.stop();
      drift.close();
      await hub.close();
      await app.close();
      await store.close();
    },
  };
}
