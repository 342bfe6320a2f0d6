import type { FastifyInstance } from 'fastify';
import { VIEW_CSP, VIEW_CSS, VIEW_HTML, VIEW_ICON, VIEW_SCRIPT } from './page.js';

const HEADERS = {
  'content-security-policy': VIEW_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * Serves the page, its style and its script. They hold no data, so they need no session; the
 * data comes from GET /api/view and the `/view` socket.io namespace, which do.
 */
export function viewPage(app: FastifyInstance): void {
  app.get('/', async (_req, reply) => reply.headers(HEADERS).type('text/html; charset=utf-8').send(VIEW_HTML));
  app.get('/view.css', async (_req, reply) => reply.headers(HEADERS).type('text/css; charset=utf-8').send(VIEW_CSS));
  app.get('/view.js', async (_req, reply) => reply.headers(HEADERS).type('text/javascript; charset=utf-8').send(VIEW_SCRIPT));
  // Browsers ask for an icon anyway; /favicon.ico gets the same one rather than a 404.
  for (const url of ['/favicon.svg', '/favicon.ico']) app.get(url, async (_req, reply) => reply.headers(HEADERS).type('image/svg+xml').send(VIEW_ICON));
}

/** The pages `viewPage` serves, for an auth hook that lets them through. */
export const VIEW_PUBLIC_PATHS: readonly string[] = ['/', '/view.css', '/view.js', '/favicon.svg', '/favicon.ico'];
