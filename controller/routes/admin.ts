import type { FastifyInstance } from 'fastify';
import { AgentForgetResponseSchema, AgentNameParamsSchema, HealthResponseSchema } from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import type { ZodTypeProvider } from '../zod-schemas.js';
import type { AgentHub } from '../hub.js';
import type { Store } from '../store.js';

export interface AdminRoutesOptions {
  store: Store;
  hub: AgentHub;
  /** Told after an agent was forgotten (its held state and findings go too). */
  forgotten?: (name: string) => void;
}

/**
 * `GET /api/health` (no token: for load balancers and monitors): 200 `{ok: true, store:
 * {writable: true}}`, or 503 `{ok: false, store: {writable: false, error, since}}` while the store
 * cannot be written (new runs are refused then). The error names the file and errno, no paths.
 * `DELETE /api/agents/:name` forgets an agent that is not connected: its record and slot ledger.
 */
export function adminRoutes(fastify: FastifyInstance, { store, hub, forgotten }: AdminRoutesOptions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/health', { schema: { response: { 200: HealthResponseSchema, 503: HealthResponseSchema } } }, async (_req, reply) => {
    const health = store.health();
    if (!health.writable) reply.code(503);
    return { ok: health.writable, store: health };
  });

  app.delete('/api/agents/:name', { schema: { params: AgentNameParamsSchema, response: { 200: AgentForgetResponseSchema } } }, async (req) => {
    const { name } = req.params;
    if (hub.isOnline(name)) throw new CtlError('CTL_ERR_AGENT_CONNECTED', `agent '${name}' is connected; stop it first, then forget it`, { field: 'name' });
    const gone = store.forgetAgent(name);
    if (!gone.agent && !gone.ledgerSlots) throw new CtlError('CTL_ERR_AGENT_NOT_FOUND', `no agent '${name}'`, { field: 'name' });
    forgotten?.(name);
    return { forgotten: name, ledgerSlots: gone.ledgerSlots };
  });
}
