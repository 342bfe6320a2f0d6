import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CtlError } from '../../common/errors.js';
import type { AgentHub } from '../hub.js';
import type { Store } from '../store.js';

export interface AdminRoutesOptions {
  store: Store;
  hub: AgentHub;
}

const agentParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be an agent name (letters, digits, _ . -)') });

/**
 * `GET /api/health` (no token: for load balancers and monitors): 200 `{ok: true, store:
 * {writable: true}}`, or 503 `{ok: false, store: {writable: false, error, since}}` while the store
 * cannot be written (new runs are refused then). The error names the file and errno, no paths.
 * `DELETE /api/agents/:name` forgets an agent that is not connected: its record and slot ledger.
 */
export function adminRoutes(app: FastifyInstance, { store, hub }: AdminRoutesOptions): void {
  app.get('/api/health', async (_req, reply) => {
    const health = store.health();
    if (!health.writable) reply.code(503);
    return { ok: health.writable, store: health };
  });

  app.delete('/api/agents/:name', async (req) => {
    const p = agentParams.safeParse(req.params);
    if (!p.success) throw new CtlError('CTL_ERR_USAGE', p.error.issues[0]!.message, { field: 'name' });
    const { name } = p.data;
    if (hub.isOnline(name)) throw new CtlError('CTL_ERR_AGENT_CONNECTED', `agent '${name}' is connected; stop it first, then forget it`, { field: 'name' });
    const gone = store.forgetAgent(name);
    if (!gone.agent && !gone.ledgerSlots) throw new CtlError('CTL_ERR_AGENT_NOT_FOUND', `no agent '${name}'`, { field: 'name' });
    return { forgotten: name, ledgerSlots: gone.ledgerSlots };
  });
}
