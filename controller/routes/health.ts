import type { FastifyInstance } from 'fastify';
import {
  DrainHostParamsSchema,
  DrainListSchema,
  DrainRequestSchema,
  DrainResponseSchema,
  EventsQuerySchema,
  HealthEventListSchema,
  StatusResponseSchema,
} from '../../common/api.js';
import type { HealthHub } from '../health-hub.js';
import type { HealthRecords } from '../health-records.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

/** Real-server health: every director's status, the transitions, drained hosts (`ctl status|events|drain|undrain`). */
export function healthRoutes(fastify: FastifyInstance, o: { health: HealthHub; records: HealthRecords }): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/status', { schema: { response: { 200: StatusResponseSchema } } }, async () => o.health.status());
  app.get('/api/events', { schema: { querystring: EventsQuerySchema, response: { 200: HealthEventListSchema } } }, async (req) =>
    o.records.events({ limit: req.query.limit, ...(req.query.host !== undefined ? { host: req.query.host } : {}) }),
  );
  app.get('/api/drain', { schema: { response: { 200: DrainListSchema } } }, async () => o.records.drained());
  app.post('/api/drain', { schema: { body: DrainRequestSchema, response: { 200: DrainResponseSchema } } }, async (req) => o.health.drain(req.body.host));
  app.delete('/api/drain/:host', { schema: { params: DrainHostParamsSchema, response: { 200: DrainResponseSchema } } }, async (req) => o.health.undrain(req.params.host));
}
