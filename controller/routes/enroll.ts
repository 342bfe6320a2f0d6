import type { FastifyInstance } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { EnrollRequestSchema, EnrollResponseSchema, RenewResponseSchema, TrustRefusalSchema } from '../../common/api.js';
import type { Logger } from '../../common/log.js';
import type { ControllerEvents } from '../events.js';
import type { IssuedCert } from '../pki/pki.js';
import type { Trust } from '../trust.js';
import type { ZodTypeProvider } from '../zod-schemas.js';

export interface EnrollRoutesOptions {
  trust: Trust;
  log: Logger;
  /** The live view's recent events: enrollments and refusals. */
  events?: Pick<ControllerEvents, 'push'>;
}

function refusal(refusal: string, message: string, definitive: boolean) {
  return { error: { code: 'CTL_ERR_ENROLLMENT_REFUSED', message, refusal, definitive } };
}

function issued(c: IssuedCert, ca: string) {
  return { host: c.host, serial: c.serial, notAfter: c.notAfter.toISOString(), cert: c.certPem, ca };
}

/**
 * The agents' side of the API, open without an API token:
 * `POST /api/enroll` takes a CSR and a one-time token (issued at once) or none (pending until
 * `ctl agents accept`); `POST /api/agent/renew` gives a new certificate for the key of the
 * client certificate the TLS connection presented. Every refusal is a warn line with its
 * reason, the peer, the host and the token id (never the token).
 */
export function enrollRoutes(fastify: FastifyInstance, { trust, log, events }: EnrollRoutesOptions): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post('/api/enroll', { schema: { body: EnrollRequestSchema, response: { 200: EnrollResponseSchema, 202: EnrollResponseSchema, 403: TrustRefusalSchema } } }, async (req, reply) => {
    const { host, csr, token } = req.body;
    const peer = req.ip;
    const r = await trust.enrollment.request({ host, csr, peer, ...(token !== undefined ? { token } : {}) });
    if (r.kind === 'issued') {
      log.info({ host, peer, serial: r.cert.serial, notAfter: r.cert.notAfter, with: token !== undefined ? 'token' : 'accepted request' }, 'agent enrolled');
      events?.push({ kind: 'enrollment', host, level: 'info', text: `${host} enrolled (${token !== undefined ? 'with a token' : 'request accepted'}) from ${peer}` });
      return { status: 'issued' as const, ...issued(r.cert, r.caPem) };
    }
    if (r.kind === 'pending') {
      log.info({ host, peer, key: r.key }, 'enrollment request pending (ctl agents accept HOST)');
      events?.push({ kind: 'enrollment', host, level: 'warn', text: `${host} asks to enroll from ${peer}: pending (ctl agents accept ${host})` });
      reply.code(202);
      return { status: 'pending' as const, host, key: r.key };
    }
    log.warn({ host, peer, refusal: r.refusal, reason: r.reason, definitive: r.definitive, ...(r.tokenId ? { tokenId: r.tokenId } : {}) }, 'enrollment refused');
    events?.push({ kind: 'refusal', host, level: 'error', text: `enrollment of ${host} from ${peer} refused: ${r.reason}` });
    reply.code(403);
    return refusal(r.refusal, r.reason, r.definitive);
  });

  app.post('/api/agent/renew', { schema: { response: { 200: RenewResponseSchema, 403: TrustRefusalSchema } } }, async (req, reply) => {
    const socket = req.raw.socket as Partial<TLSSocket>;
    const raw = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(true)?.raw : undefined;
    const check = await trust.pki.checkPeer(raw);
    if (!check.ok) {
      log.warn({ peer: req.ip, refusal: check.refusal, reason: check.reason, ...(check.serial ? { serial: check.serial } : {}), ...(check.host ? { certHost: check.host } : {}) }, 'renewal refused');
      reply.code(403);
      return refusal(check.refusal, check.reason, check.definitive);
    }
    const cert = await trust.pki.renew(Buffer.from(raw!));
    log.info({ host: cert.host, peer: req.ip, serial: cert.serial, previous: check.serial, notAfter: cert.notAfter }, 'certificate renewed');
    return issued(cert, trust.pki.caPem);
  });
}
