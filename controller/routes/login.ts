import { fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import { LoginRequestSchema } from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import { SESSION_COOKIE, sessionCookieOptions, type Session, type Sessions } from '../auth/sessions.js';
import { tokensEqual } from '../hub.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

export interface LoginRoutesOptions {
  sessions: Sessions;
  /** The controller's API token: the one a person signs in with. */
  token: string;
}

/** The session a Cookie header names, if it is a live one (HTTP requests and the view's socket alike). */
export function sessionOf(sessions: Sessions, cookieHeader: string | undefined): Session | undefined {
  if (!cookieHeader) return undefined;
  return sessions.lookup(fastifyCookie.parse(cookieHeader)[SESSION_COOKIE]);
}

/**
 * The health view's sign-in: `POST /login` with `{"token": "..."}` (JSON, never in a URL)
 * answers 204 with an HttpOnly SameSite=Strict session cookie, 401 for a wrong token;
 * `POST /logout` ends the session. The cookie is Secure when the request came over TLS (a
 * browser keeps a Secure cookie from plain http only on loopback).
 */
export function loginRoutes(fastify: FastifyInstance, { sessions, token }: LoginRoutesOptions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post('/login', { schema: { body: LoginRequestSchema } }, async (req, reply) => {
    if (!tokensEqual(req.body.token, token)) {
      req.log.warn({ peer: req.ip }, 'sign-in refused: wrong token');
      throw new CtlError('CTL_ERR_UNAUTHORIZED', 'wrong token');
    }
    const s = await sessions.create('controller-token');
    reply.setCookie(SESSION_COOKIE, s.id, { ...sessionCookieOptions(sessions.ttlMs), secure: req.protocol === 'https' });
    return reply.code(204).send();
  });
  app.post('/logout', async (req, reply) => {
    const id = req.headers.cookie ? fastifyCookie.parse(req.headers.cookie)[SESSION_COOKIE] : undefined;
    if (id) await sessions.destroy(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });
}
