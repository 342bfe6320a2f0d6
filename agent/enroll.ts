import { X509Certificate } from 'node:crypto';
import { EnrollResponseSchema, TrustRefusalSchema } from '../common/api.js';
import type { Logger } from '../common/log.js';
import { Backoff, DEFINITIVE_BACKOFF, type BackoffOptions } from './connection.js';
import { enrollmentCsr, loadIdentity, saveIdentity, type AgentIdentity } from './identity.js';
import { realTimers, type Timers } from './timers.js';
import { fetchPinnedCa, httpsJson } from './tls.js';

export interface EnrollOptions {
  /** https URL of the controller. */
  controller: string;
  /** The host name asked for (CN and only DNS name of the CSR). */
  host: string;
  stateDir: string;
  /** The one-time token, read at each attempt (a file put in place later is used); none: pending. */
  token?: () => string | undefined;
  /** The CA from a file (`--ca`), or the fingerprint the offered CA must have (`--ca-fingerprint`). */
  caPem?: string;
  caFingerprint?: string;
  log: Logger;
  timers?: Timers;
  random?: () => number;
}

export type EnrollOutcome =
  | { kind: 'issued'; identity: AgentIdentity }
  | { kind: 'pending'; key: string }
  | { kind: 'refused'; refusal: string; reason: string; definitive: boolean }
  | { kind: 'failed'; reason: string };

/** While pending, or after an error that may pass: every 5 s at first, then up to a minute. */
export const ENROLL_BACKOFF: BackoffOptions = { baseMs: 5000, maxMs: 60_000, factor: 2, jitter: 0.5 };

const sameCert = (a: string, b: string) => new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;

/**
 * One enrollment attempt: the controller's CA pinned first (nothing is sent before), then a CSR
 * made with the agent's own key (the key never leaves the state folder), with the token in the
 * body if there is one. An issued certificate is checked (our key, signed by the pinned CA)
 * before it is kept.
 */
export async function enrollOnce(o: EnrollOptions): Promise<EnrollOutcome> {
  let ca: string;
  try {
    if (o.caPem) ca = o.caPem;
    else if (o.caFingerprint) ca = await fetchPinnedCa(o.controller, o.caFingerprint);
    else return { kind: 'failed', reason: 'no CA to pin: give --ca-fingerprint SHA256 or --ca FILE' };
  } catch (e) {
    return { kind: 'failed', reason: (e as Error).message };
  }
  const csr = await enrollmentCsr(o.stateDir, o.host);
  const token = o.token?.();
  let res;
  try {
    res = await httpsJson(o.controller, '/api/enroll', { host: o.host, csr, ...(token ? { token } : {}) }, { ca, rejectUnauthorized: true });
  } catch (e) {
    return { kind: 'failed', reason: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
  if (res.status === 200 || res.status === 202) {
    const r = EnrollResponseSchema.safeParse(res.json);
    if (!r.success) return { kind: 'failed', reason: `the enrollment answer does not match the API (HTTP ${res.status})` };
    if (r.data.status === 'pending') return { kind: 'pending', key: r.data.key };
    if (!sameCert(r.data.ca, ca)) return { kind: 'failed', reason: 'the controller answered with another CA than the one pinned' };
    try {
      await saveIdentity(o.stateDir, r.data.cert, ca);
    } catch (e) {
      return { kind: 'failed', reason: (e as Error).message };
    }
    return { kind: 'issued', identity: loadIdentity(o.stateDir)! };
  }
  const refused = TrustRefusalSchema.safeParse(res.json);
  if (refused.success) return { kind: 'refused', refusal: refused.data.error.refusal, reason: refused.data.error.message, definitive: refused.data.error.definitive };
  return { kind: 'failed', reason: `HTTP ${res.status} from /api/enroll` };
}

/**
 * Enrolls until a certificate is issued: polls while the request is pending, and after a
 * definitive refusal (a spent token, a rejected key) backs off to minutes and says why.
 */
export async function enroll(o: EnrollOptions): Promise<AgentIdentity> {
  const timers = o.timers ?? realTimers;
  const retry = new Backoff(ENROLL_BACKOFF, o.random);
  const definitive = new Backoff(DEFINITIVE_BACKOFF, o.random);
  let pendingSaid = false;
  for (;;) {
    const r = await enrollOnce(o);
    let delay: number;
    if (r.kind === 'issued') {
      const cert = new X509Certificate(r.identity.certPem);
      o.log.info({ serial: cert.serialNumber.toLowerCase(), notAfter: new Date(cert.validTo).toISOString() }, 'enrolled: certificate received');
      return r.identity;
    } else if (r.kind === 'pending') {
      delay = retry.next();
      if (!pendingSaid) o.log.warn({ key: r.key, retryInMs: Math.round(delay) }, `enrollment request pending: an operator must accept it (ctl agents accept ${o.host}; compare the key)`);
      else o.log.info({ retryInMs: Math.round(delay) }, 'enrollment request still pending');
      pendingSaid = true;
    } else if (r.kind === 'refused') {
      delay = (r.definitive ? definitive : retry).next();
      if (r.definitive) o.log.error({ refusal: r.refusal, reason: r.reason, retryInMs: Math.round(delay) }, 'enrollment refused for good: an operator must act; retrying rarely');
      else o.log.warn({ refusal: r.refusal, reason: r.reason, retryInMs: Math.round(delay) }, 'enrollment refused');
    } else {
      delay = retry.next();
      o.log.warn({ reason: r.reason, retryInMs: Math.round(delay) }, 'enrollment failed');
    }
    await new Promise<void>((resolve) => timers.setTimeout(resolve, delay));
  }
}
