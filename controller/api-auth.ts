import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CtlError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { SESSION_COOKIE, Sessions } from './auth/sessions.js';
import { tokensEqual } from './agent-auth.js';
import type { ApiAuth, Trust } from './trust.js';
import { VIEW_PUBLIC_PATHS } from './view/routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API token name (or the dev token) this request is authenticated as, if any. */
    apiSubject?: string;
  }
}

/**
 * Routes open without an API token: health for monitors, enrollment and renewal (agents prove
 * themselves with a one-time token or their certificate), login, and the live view's page and
 * assets, which hold no data (it comes from /api/view and the `/view` socket, behind the session).
 */
const OPEN = new Set(['/api/health', '/api/enroll', '/api/agent/renew', '/login', '/logout', ...VIEW_PUBLIC_PATHS]);

export function trustApiAuth(trust: Trust, dataDir: string): ApiAuth {
  return {
    verify: (t) => trust.apiTokens.verify(t),
    verifyBearer: (h) => trust.apiTokens.verifyBearer(h),
    sessions: Sessions.open(dataDir),
    secure: true,
  };
}

/** The `--insecure-http` dev controller: one shared token, as before TLS existed. */
export function devTokenAuth(token: string, dataDir: string): ApiAuth {
  const verify = (t: string) => (tokensEqual(t, token) ? 'dev' : undefined);
  return {
    verify,
    verifyBearer(header) {
      if (!header) return { ok: false, reason: 'missing' };
      const m = /^Bearer (\S{1,256})$/.exec(header);
      if (!m) return { ok: false, reason: 'malformed' };
      const name = verify(m[1]!);
      return name ? { ok: true, name } : { ok: false, reason: 'unknown' };
    },
    sessions: Sessions.open(dataDir),
    secure: false,
  };
}

/**
 * Every request but the open ones needs `Authorization: Bearer TOKEN` or a session cookie from
 * `/login`. Tokens are read from the header only: a `?token=` in a URL is ignored, so it can
 * never become the habit that leaks tokens into logs and browser histories. A refusal is logged
 * with its reason (missing, malformed, unknown), never the header.
 */
export async function useApiAuth(app: FastifyInstance, auth: ApiAuth, log: Logger, metricsToken?: string): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('apiSubject', undefined);
  app.addHook('onRequest', async (req) => {
    const bearer = auth.verifyBearer(req.headers.authorization);
    if (bearer.ok) req.apiSubject = bearer.name;
    else {
      const session = auth.sessions.lookup(req.cookies[SESSION_COOKIE]);
      if (session) req.apiSubject = session.subject;
    }
    if (req.apiSubject || OPEN.has(req.routeOptions.url ?? '')) return;
    // A Prometheus scrape job's token reads /metrics and nothing else.
    if (metricsToken && req.routeOptions.url === '/metrics' && tokensEqual(req.headers.authorization ?? '', `Bearer ${metricsToken}`)) return;
    const reason = bearer.ok ? 'session' : bearer.reason === 'missing' && req.cookies[SESSION_COOKIE] ? 'session expired or unknown' : bearer.reason;
    log.warn({ peer: req.ip, route: routeOf(req), reason }, 'API request refused');
    throw new CtlError('CTL_ERR_UNAUTHORIZED', 'missing or wrong token (Authorization: Bearer TOKEN)');
  });
}

/** Method and path without the query string: query strings are never echoed or logged. */
export function routeOf(req: FastifyRequest): string {
  const path = req.url.split('?')[0]!.split('#')[0]!;
  return `${req.method} ${path.length > 200 ? path.slice(0, 200) + '...' : path}`;
}
