import { CtlError, isCtlError } from '../../common/errors.js';
import { x509 } from '../../common/x509.js';
import type { EnrollmentRequests } from '../auth/enrollment-requests.js';
import type { EnrollmentTokens } from '../auth/enrollment-tokens.js';
import type { IssuedCert, Pki } from './pki.js';

export interface EnrollInput {
  host: string;
  csr: string;
  /** One-time token; without one the request waits for `accept`. */
  token?: string;
  /** The requester's address, for the log and `ctl agents pending`. */
  peer: string;
}

export type EnrollRefusal = 'bad-csr' | 'token' | 'revoked' | 'rejected' | 'already-enrolled' | 'other-request';

export type EnrollResult =
  | { kind: 'issued'; cert: IssuedCert; caPem: string }
  | { kind: 'pending'; key: string }
  | { kind: 'refused'; refusal: EnrollRefusal; reason: string; definitive: boolean; tokenId?: string };

/**
 * Enrollment as Puppet and Salt do it: an agent sends a CSR for its host name with its own key;
 * a valid one-time token gets it signed at once, otherwise it waits as pending until an
 * operator accepts or rejects it. Every refusal carries its reason for the log.
 */
export class Enrollment {
  constructor(
    private readonly pki: Pki,
    private readonly tokens: EnrollmentTokens,
    private readonly requests: EnrollmentRequests,
  ) {}

  async request(input: EnrollInput): Promise<EnrollResult> {
    const refused = (refusal: EnrollRefusal, reason: string, definitive: boolean, tokenId?: string): EnrollResult => ({
      kind: 'refused',
      refusal,
      reason,
      definitive,
      ...(tokenId ? { tokenId } : {}),
    });
    let key: string;
    try {
      key = (await this.pki.inspectCsr(input.csr, input.host)).key;
    } catch (e) {
      if (isCtlError(e)) return refused('bad-csr', e.message, true);
      throw e;
    }
    const host = input.host;
    const state = this.pki.hostState(host);
    if (state?.revoked && state.key === key) return refused('revoked', `the key of ${host} was revoked; make a new key to enroll again`, true);
    if (state?.valid && state.key !== key) {
      return refused('already-enrolled', `${host} is enrolled with another key; revoke it first (ctl agents revoke ${host})`, true);
    }
    const prior = this.requests.get(host);
    if (prior?.state === 'rejected' && prior.key === key) return refused('rejected', `the enrollment request of ${host} was rejected`, true);
    if (prior?.state === 'accepted' && prior.key === key && prior.cert) {
      await this.requests.remove(host);
      return { kind: 'issued', cert: certOf(prior.cert, host), caPem: this.pki.caPem };
    }

    if (input.token !== undefined) {
      // A revoked host comes back only through an operator's accept, never through a token.
      if (state?.revoked) return refused('revoked', `${host} was revoked; only ctl agents accept ${host} can enroll it again`, true);
      const used = await this.tokens.consume(input.token, host);
      if (!used.ok) return refused('token', used.reason, used.refusal !== 'unknown', used.id);
      const cert = await this.pki.signAgentCsr(input.csr, host);
      if (prior) await this.requests.remove(host);
      return { kind: 'issued', cert, caPem: this.pki.caPem };
    }

    if (prior?.state === 'pending') {
      if (prior.key === key) return { kind: 'pending', key };
      return refused('other-request', `another request for ${host} (key ${prior.key.slice(0, 16)}) is pending; reject it first`, false);
    }
    if (prior) await this.requests.remove(host);
    await this.requests.add({ host, csr: input.csr, key, peer: input.peer });
    return { kind: 'pending', key };
  }

  /** Signs a pending request; the agent collects the certificate on its next attempt. */
  async accept(host: string): Promise<IssuedCert> {
    const r = this.requests.get(host);
    if (!r || r.state !== 'pending') throw new CtlError('CTL_ERR_ENROLLMENT_NOT_FOUND', `no pending enrollment request for '${host}'`, { field: 'host' });
    const cert = await this.pki.signAgentCsr(r.csr, host);
    await this.requests.decide(host, { state: 'accepted', cert: cert.certPem });
    return cert;
  }

  async reject(host: string): Promise<void> {
    await this.requests.decide(host, { state: 'rejected' });
  }
}

function certOf(pem: string, host: string): IssuedCert {
  const c = new x509.X509Certificate(pem);
  return { host, serial: c.serialNumber, notAfter: c.notAfter, certPem: pem };
}
