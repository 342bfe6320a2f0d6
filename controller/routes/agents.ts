import type { FastifyInstance } from 'fastify';
import type { AgentHub } from '../hub.js';

export function agentRoutes(app: FastifyInstance, hub: AgentHub): void {
  app.get('/api/agents', async () => hub.agents());
}
