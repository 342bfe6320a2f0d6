import type { FastifyRequest } from 'fastify';
import { CtlError } from '../common/errors.js';
import type { Sessions } from './auth/sessions.js';
import { tokensEqual } from './hub.js';
import { sessionOf } from './routes/login.js';
import { VIEW_PUBLIC_PATHS } from './view/routes.js';

export interface RequestAuthOptions {
  token: string;
  sessions: Sessions;
  /** A token that may read /metrics and nothing else (a Prometheus scrape job's). */
  metricsToken?: string;
}

/** Needs no credentials: health for load balancers, the page and its assets (no data), signing in and out. */
const OPEN = new Set(['/api/health', '/login', '/logout', ...VIEW_PUBLIC_PATHS]);

/**
 * Who may ask what: the API wants `Authorization: Bearer TOKEN` (never a token in the URL);
 * the view's data (GET /api/view) also takes the session cookie the page signed in with;
 * /metrics also takes the scrape token.
 */
export function requestAuth(o: RequestAuthOptions): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const url = req.url.split('?')[0]!;
    if (OPEN.has(url)) return;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (given && tokensEqual(given, o.token)) return;
    if (url === '/metrics' && given && o.metricsToken && tokensEqual(given, o.metricsToken)) return;
    if (url === '/api/view' && req.method === 'GET' && sessionOf(o.sessions, req.headers.cookie)) return;
    throw new CtlError('CTL_ERR_UNAUTHORIZED', 'missing or wrong token (Authorization: Bearer TOKEN)');
  };
}
