import type { FastifyInstance } from 'fastify';
import { AgentListSchema } from '../../common/api.js';
import type { AgentHub } from '../hub.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

export function agentRoutes(app: FastifyInstance, hub: AgentHub): void {
  app.withTypeProvider<ZodTypeProvider>().get('/api/agents', { schema: { response: { 200: AgentListSchema } } }, async () => hub.agents());
}
