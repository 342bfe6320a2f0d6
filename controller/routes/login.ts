import type { FastifyInstance } from 'fastify';
import { LoginRequestSchema, LoginResponseSchema, LogoutResponseSchema } from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { SESSION_COOKIE, sessionCookieOptions } from '../auth/sessions.js';
import type { ApiAuth } from '../trust.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

/**
 * The health page's login: `POST /login` with `{"token": "..."}` in the body (never in a URL)
 * answers with a session cookie, HttpOnly and SameSite=Strict, Secure when the controller speaks
 * TLS; `POST /logout` ends the session.
 */
export function loginRoutes(fastify: FastifyInstance, auth: ApiAuth, log: Logger): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post('/login', { schema: { body: LoginRequestSchema, response: { 200: LoginResponseSchema } } }, async (req, reply) => {
    const subject = auth.verify(req.body.token);
    if (!subject) {
      log.warn({ peer: req.ip, reason: 'unknown token' }, 'login refused');
      throw new CtlError('CTL_ERR_UNAUTHORIZED', 'wrong token');
    }
    const session = await auth.sessions.create(subject);
    reply.setCookie(SESSION_COOKIE, session.id, { ...sessionCookieOptions(auth.sessions.ttlMs), secure: auth.secure });
    log.info({ subject, peer: req.ip }, 'logged in');
    return { ok: true as const, expiresAt: session.expiresAt };
  });

  app.post('/logout', { schema: { response: { 200: LogoutResponseSchema } } }, async (req, reply) => {
    const id = req.cookies[SESSION_COOKIE];
    if (id) await auth.sessions.destroy(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true as const };
  });
}
