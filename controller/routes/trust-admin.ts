import type { FastifyInstance } from 'fastify';
import {
  AcceptResponseSchema,
  AgentCertListSchema,
  AgentNameParamsSchema,
  ApiTokenCreateSchema,
  ApiTokenCreatedSchema,
  ApiTokenListSchema,
  ApiTokenNameParamsSchema,
  ApiTokenRevokedSchema,
  EnrollTokenCreatedSchema,
  EnrollTokenListSchema,
  EnrollTokenRequestSchema,
  PendingListSchema,
  RejectResponseSchema,
  RevokeResponseSchema,
} from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AgentHub } from '../hub.js';
import type { ApiAuth, Trust } from '../trust.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

export interface TrustAdminOptions {
  /** Undefined on an `--insecure-http` controller: these routes answer CTL_ERR_NO_TLS. */
  trust: Trust | undefined;
  auth: ApiAuth;
  hub: AgentHub;
  log: Logger;
}

/**
 * The operator's trust routes (API token required), as `salt-key` and `puppetserver ca` offer
 * them: certificates and requests, accept / reject / revoke, enrollment tokens, API tokens.
 * Each decision is an info or warn line naming who made it (the API token's name).
 */
export function trustAdminRoutes(fastify: FastifyInstance, { trust, auth, hub, log }: TrustAdminOptions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const need = (): Trust => {
    if (!trust) throw new CtlError('CTL_ERR_NO_TLS', 'this controller runs with --insecure-http: agents use the shared token; run ctl controller init for certificates');
    return trust;
  };

  app.get('/api/agents/certificates', { schema: { response: { 200: AgentCertListSchema } } }, async () => {
    const t = need();
    return { certificates: t.pki.agents(), requests: t.requests.list() };
  });

  app.get('/api/agents/pending', { schema: { response: { 200: PendingListSchema } } }, async () => need().requests.list('pending'));

  app.post('/api/agents/:name/accept', { schema: { params: AgentNameParamsSchema, response: { 200: AcceptResponseSchema } } }, async (req) => {
    const cert = await need().enrollment.accept(req.params.name);
    log.info({ host: cert.host, serial: cert.serial, by: req.apiSubject }, 'enrollment request accepted');
    return { host: cert.host, serial: cert.serial, notAfter: cert.notAfter.toISOString() };
  });

  app.post('/api/agents/:name/reject', { schema: { params: AgentNameParamsSchema, response: { 200: RejectResponseSchema } } }, async (req) => {
    await need().enrollment.reject(req.params.name);
    log.warn({ host: req.params.name, by: req.apiSubject }, 'enrollment request rejected');
    return { host: req.params.name, state: 'rejected' as const };
  });

  app.post('/api/agents/:name/revoke', { schema: { params: AgentNameParamsSchema, response: { 200: RevokeResponseSchema } } }, async (req) => {
    const { name } = req.params;
    const serials = await need().pki.revoke(name);
    // Written before the socket is closed: the agent's reconnect already meets the revocation.
    const disconnected = hub.disconnectHost(name, 'certificate revoked');
    log.warn({ host: name, serials, disconnected, by: req.apiSubject }, 'agent revoked');
    return { host: name, serials, disconnected };
  });

  app.post('/api/enroll-tokens', { schema: { body: EnrollTokenRequestSchema, response: { 200: EnrollTokenCreatedSchema } } }, async (req) => {
    const { hosts, ttlSeconds, uses } = req.body;
    const created = await need().enrollTokens.create({ ...(hosts !== undefined ? { hosts } : {}), ...(ttlSeconds !== undefined ? { ttlMs: ttlSeconds * 1000 } : {}), ...(uses !== undefined ? { uses } : {}) });
    log.info({ tokenId: created.id, hosts: created.hosts, expiresAt: created.expiresAt, uses: created.uses, by: req.apiSubject }, 'enrollment token created');
    return created;
  });

  app.get('/api/enroll-tokens', { schema: { response: { 200: EnrollTokenListSchema } } }, async () => need().enrollTokens.list());

  app.get('/api/tokens', { schema: { response: { 200: ApiTokenListSchema } } }, async () => need().apiTokens.list());

  app.post('/api/tokens', { schema: { body: ApiTokenCreateSchema, response: { 200: ApiTokenCreatedSchema } } }, async (req) => {
    const token = await need().apiTokens.create(req.body.name);
    log.info({ name: req.body.name, by: req.apiSubject }, 'API token created');
    return { name: req.body.name, token };
  });

  app.delete('/api/tokens/:name', { schema: { params: ApiTokenNameParamsSchema, response: { 200: ApiTokenRevokedSchema } } }, async (req) => {
    const { name } = req.params;
    await need().apiTokens.revoke(name);
    await auth.sessions.destroySubject(name);
    log.warn({ name, by: req.apiSubject }, 'API token revoked');
    return { revoked: name };
  });
}
