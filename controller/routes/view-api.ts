import type { FastifyInstance } from 'fastify';
import { ViewSnapshotSchema, type ViewSnapshot } from '../../common/view.js';
import type { ControllerMetrics } from '../metrics.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

/**
 * `GET /api/view`: the live view's snapshot (the page's first load, `ctl status`); the API token
 * or the page's session. `GET /metrics`: Prometheus text, its gauges set from a fresh snapshot
 * at each scrape; the API token or the scrape token.
 */
export function viewApiRoutes(fastify: FastifyInstance, o: { snapshot(): Promise<ViewSnapshot>; metrics: ControllerMetrics }): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/view', { schema: { response: { 200: ViewSnapshotSchema } } }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return await o.snapshot();
  });
  app.get('/metrics', async (_req, reply) => {
    o.metrics.fromView(await o.snapshot());
    const { contentType, text } = await o.metrics.exposition();
    return reply.type(contentType).header('cache-control', 'no-store').send(text);
  });
}
