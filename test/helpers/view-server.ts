import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import cookie from '@fastify/cookie';
import { Server } from 'socket.io';
import { viewPage } from '../../controller/view/routes.js';
import { ViewSnapshotSchema, type ViewSnapshot } from '../../common/view.js';

const COOKIE = 'lvsctl_session';

/**
 * A stand-in for the controller's side of the health view on 127.0.0.1: the real page routes,
 * a token login setting an HttpOnly SameSite=Strict cookie, GET /api/view, and the `/view`
 * socket.io namespace (client served, cookie checked) that pushes snapshots.
 */
export async function viewServer(token: string, initial: ViewSnapshot) {
  const sessions = new Set<string>();
  let current = ViewSnapshotSchema.parse(initial);
  const app = Fastify({ logger: false });
  await app.register(cookie);
  viewPage(app);
  const sessionOf = (header: string | undefined) => /(?:^|;\s*)lvsctl_session=([0-9a-f]+)/.exec(header ?? '')?.[1];

  app.post('/login', async (req, reply) => {
    const body = req.body as { token?: unknown } | undefined;
    if (typeof body?.token !== 'string' || body.token !== token) return reply.code(401).send({ error: 'wrong token' });
    const id = randomBytes(24).toString('hex');
    sessions.add(id);
    return reply.setCookie(COOKIE, id, { httpOnly: true, sameSite: 'strict', path: '/' }).code(204).send();
  });
  app.post('/logout', async (req, reply) => {
    const id = sessionOf(req.headers.cookie);
    if (id) sessions.delete(id);
    return reply.clearCookie(COOKIE, { path: '/' }).code(204).send();
  });
  app.get('/api/view', async (req, reply) => {
    const id = sessionOf(req.headers.cookie);
    if (!id || !sessions.has(id)) return reply.code(401).send({ error: 'unauthorized' });
    return current;
  });

  const io = new Server(app.server, { serveClient: true });
  const nsp = io.of('/view');
  nsp.use((socket, next) => {
    const id = sessionOf(socket.request.headers.cookie);
    next(id && sessions.has(id) ? undefined : new Error('unauthorized'));
  });
  nsp.on('connection', (socket) => socket.emit('snapshot', current));

  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return {
    url,
    sessions,
    /** Validates and pushes a snapshot to every page, as the controller will on each change. */
    push(v: ViewSnapshot) {
      current = ViewSnapshotSchema.parse(v);
      nsp.emit('snapshot', current);
    },
    /** Ends every session and drops the pages' connections (they reconnect and are refused). */
    expireSessions() {
      sessions.clear();
      for (const s of nsp.sockets.values()) s.conn.close();
    },
    async close() {
      await new Promise<void>((r) => io.close(() => r()));
      await app.close();
    },
  };
}
