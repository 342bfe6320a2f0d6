import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import {
  LintResponseSchema,
  RunCancelRequestSchema,
  RunCancelResponseSchema,
  RunDetailSchema,
  RunIdParamsSchema,
  RunListSchema,
  RunRequestSchema,
  RunStartedSchema,
  type RunStreamLine,
} from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import { planRun, type PlanEnv } from '../plan-run.js';
import { recap, type RunEvent, type RunManager } from '../run-manager.js';
import { assertClusterWorks, lintCluster } from '../lint.js';
import type { Store } from '../store.js';
import { runLabel } from '../run-record.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

export interface RunRoutesOptions {
  store: Store;
  runs: RunManager;
  planEnv: PlanEnv;
}

export function runRoutes(fastify: FastifyInstance, { store, runs, planEnv }: RunRoutesOptions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/runs', { schema: { response: { 200: RunListSchema } } }, async () =>
    store.runs().map((r) => ({ id: r.id, title: r.title, kind: r.kind, origin: r.origin, status: r.status, label: runLabel(r), check: r.check, createdAt: r.createdAt, finishedAt: r.finishedAt ?? null, hosts: r.hosts, totals: r.totals })),
  );

  app.get('/api/runs/:id', { schema: { params: RunIdParamsSchema, response: { 200: RunDetailSchema } } }, async (req) => {
    const run = await store.run(req.params.id);
    if (!run) throw new CtlError('CTL_ERR_RUN_NOT_FOUND', `no run '${req.params.id}'`, { field: 'id' });
    return { ...run, recap: recap(run) };
  });

  app.post('/api/lint', { schema: { body: RunRequestSchema, response: { 200: LintResponseSchema } } }, async (req) => {
    const planned = await planRun(req.body, { ...planEnv, renderOffline: true });
    const issues = lintCluster(planned, planEnv.facts);
    return { issues, hosts: Object.keys(planned.vars), tasks: planned.spec.plays.reduce((n, p) => n + Object.values(p.hosts).reduce((m, t) => m + t.length, 0), 0) };
  });

  app.post('/api/runs', { schema: { body: RunRequestSchema, response: { 201: RunStartedSchema } } }, async (req, reply) => {
    const planned = await planRun(req.body, planEnv);
    assertClusterWorks(planned, planEnv.facts);
    const seconds = (s?: number) => (s === undefined ? undefined : s * 1000);
    const { taskTimeout, jobTimeout, waitTimeout, wait } = req.body;
    const run = runs.start({ ...planned.spec, taskTimeoutMs: seconds(taskTimeout), jobTimeoutMs: seconds(jobTimeout), waitTimeoutMs: seconds(waitTimeout), ...(wait === false ? { wait } : {}) });
    reply.code(201);
    return { id: run.id, title: run.title, hosts: Object.keys(run.hosts) };
  });

  app.post('/api/runs/:id/cancel', { schema: { params: RunIdParamsSchema, body: RunCancelRequestSchema, response: { 202: RunCancelResponseSchema } } }, async (req, reply) => {
    const run = await store.run(req.params.id);
    if (!run) throw new CtlError('CTL_ERR_RUN_NOT_FOUND', `no run '${req.params.id}'`, { field: 'id' });
    if (!runs.cancel(run.id, !!req.body?.now)) throw new CtlError('CTL_ERR_RUN_ENDED', `run ${run.id} is ${run.status}; nothing to cancel`, { field: 'id' });
    reply.code(202);
    return { id: run.id, cancelling: true as const };
  });

  /**
   * The run's events as NDJSON: what already happened first, then live events until the end.
   * `ctl` reads this to show each task per host as it finishes; each line is a RunStreamEvent.
   */
  app.get('/api/runs/:id/events', { schema: { params: RunIdParamsSchema } }, async (req, reply) => {
    const run = await store.run(req.params.id);
    if (!run) throw new CtlError('CTL_ERR_RUN_NOT_FOUND', `no run '${req.params.id}'`, { field: 'id' });
    const stream = new Readable({ read() {} });
    const send = (e: RunStreamLine) => stream.push(JSON.stringify(e) + '\n');
    // Ends the stream with whatever was not sent yet, then the run and its recap.
    const finish = () => {
      replay();
      send({ type: 'end', run });
      send({ type: 'recap', recap: recap(run) });
      stream.push(null);
    };
    // Replay what already happened; live events that repeat it are dropped by key.
    const seen = new Set<string>();
    const once = (key: string, e: RunEvent) => {
      if (seen.has(key)) return;
      seen.add(key);
      send(e);
    };
    const replay = () => {
      for (const [host, h] of Object.entries(run.hosts)) {
        for (const result of h.results) once(`${host}/${result.index}`, { type: 'result', host, result });
        if (h.status === 'unreachable') once(`${host}/unreachable`, { type: 'host', host, status: h.status, ...(h.error ? { error: h.error } : {}) });
      }
    };
    const em = runs.events(run.id);
    if (!em) finish();
    else {
      const onEvent = (e: RunEvent) => {
        if (e.type === 'end') {
          em.off('event', onEvent);
          return finish();
        }
        if (e.type === 'result') once(`${e.host}/${e.result.index}`, e);
        else if (e.type === 'host' && e.status === 'unreachable') once(`${e.host}/unreachable`, e);
        else send(e);
      };
      em.on('event', onEvent);
      replay();
      for (const w of runs.waiting(run.id)) send({ type: 'waiting', ...w });
      req.raw.on('close', () => em.off('event', onEvent));
    }
    reply.header('content-type', 'application/x-ndjson');
    return reply.send(stream);
  });
}
