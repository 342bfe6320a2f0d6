import type { FastifyInstance } from 'fastify';
import { FindingHistorySchema, FindingsQuerySchema, OpenFindingsSchema } from '../../common/api.js';
import type { AgentState } from '../../common/view.js';
import type { DesiredStates } from '../desired-state.js';
import type { DriftHub } from '../drift-hub.js';
import type { FindingsLedger } from '../findings.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

export interface FindingsRoutesOptions {
  ledger: FindingsLedger;
  desired: DesiredStates;
  drift: DriftHub;
  agentState(name: string): AgentState;
}

/**
 * `GET /api/findings` (open drift findings, and each host with a held desired state with its
 * agent's state and last report, so `ctl drift` can tell a clean host from a silent one) and
 * `GET /api/findings/history` (resolved ones, newest first). `?host=` narrows both, `?limit=`
 * the history.
 */
export function findingsRoutes(fastify: FastifyInstance, o: FindingsRoutesOptions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/findings', { schema: { querystring: FindingsQuerySchema, response: { 200: OpenFindingsSchema } } }, async (req) => {
    const { host } = req.query;
    const hosts = o.desired
      .hosts()
      .filter((h) => host === undefined || h === host)
      .map((h) => {
        const held = o.desired.get(h)!;
        const w = o.drift.watch(h);
        return { host: h, state: o.agentState(h), revision: held.revision, slots: held.slots.map((s) => s.slot), reportedAt: w && w.revision === held.revision ? w.reportedAt : null };
      });
    return { findings: o.ledger.open(host), hosts };
  });
  app.get('/api/findings/history', { schema: { querystring: FindingsQuerySchema, response: { 200: FindingHistorySchema } } }, async (req) =>
    o.ledger.history({ ...(req.query.host ? { host: req.query.host } : {}), ...(req.query.limit ? { limit: req.query.limit } : {}) }),
  );
}
