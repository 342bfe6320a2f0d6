import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { CtlError } from '../../common/errors.js';
import { planRun, type PlanEnv, type RunRequest } from '../plan-run.js';
import { recap, type RunEvent, type RunManager } from '../run-manager.js';
import { assertClusterWorks, lintCluster } from '../lint.js';
import type { Store } from '../store.js';

const runRequestSchema = {
  type: 'object',
  required: ['kind', 'inventory'],
  additionalProperties: false,
  properties: {
    kind: { enum: ['role', 'playbook'] },
    role: { type: 'string' },
    playbook: { type: 'string' },
    hosts: { type: 'string' },
    inventory: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
    extraVars: { type: 'object' },
    check: { type: 'boolean' },
    diff: { type: 'boolean' },
  },
} as const;

export interface RunRoutesOptions {
  store: Store;
  runs: RunManager;
  planEnv: PlanEnv;
}

export function runRoutes(app: FastifyInstance, { store, runs, planEnv }: RunRoutesOptions): void {
  app.get('/api/runs', async () =>
    store.runs().map((r) => ({ id: r.id, title: r.title, kind: r.kind, origin: r.origin, status: r.status, check: r.check, createdAt: r.createdAt, finishedAt: r.finishedAt ?? null, hosts: r.hosts, totals: r.totals })),
  );

  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req) => {
    const run = await store.run(req.params.id);
    if (!run) throw new CtlError('CTL_ERR_RUN_NOT_FOUND', `no run '${req.params.id}'`, { field: 'id' });
    return { ...run, recap: recap(run) };
  });

  app.post<{ Body: RunRequest }>('/api/lint', { schema: { body: runRequestSchema } }, async (req) => {
    const planned = await planRun(req.body, { ...planEnv, renderOffline: true });
    const issues = lintCluster(planned, planEnv.facts);
    return { issues, hosts: Object.keys(planned.vars), tasks: planned.spec.plays.reduce((n, p) => n + Object.values(p.hosts).reduce((m, t) => m + t.length, 0), 0) };
  });

  app.post<{ Body: RunRequest }>('/api/runs', { schema: { body: runRequestSchema } }, async (req, reply) => {
    const planned = await planRun(req.body, planEnv);
    assertClusterWorks(planned, planEnv.facts);
    const run = runs.start(planned.spec);
    reply.code(201);
    return { id: run.id, title: run.title, hosts: Object.keys(run.hosts) };
  });

  /**
   * The run's events as NDJSON: what already happened first, then live events until the end.
   * `ctl` reads this to show each task per host as it finishes.
   */
  app.get<{ Params: { id: string } }>('/api/runs/:id/events', async (req, reply) => {
    const run = await store.run(req.params.id);
    if (!run) throw new CtlError('CTL_ERR_RUN_NOT_FOUND', `no run '${req.params.id}'`, { field: 'id' });
    const stream = new Readable({ read() {} });
    const send = (e: RunEvent | { type: 'recap'; recap: ReturnType<typeof recap> }) => stream.push(JSON.stringify(e) + '\n');
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
        else if (e.status === 'unreachable') once(`${e.host}/unreachable`, e);
        else send(e);
      };
      em.on('event', onEvent);
      replay();
      req.raw.on('close', () => em.off('event', onEvent));
    }
    reply.header('content-type', 'application/x-ndjson');
    return reply.send(stream);
  });
}
