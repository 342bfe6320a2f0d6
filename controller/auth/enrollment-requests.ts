import { z } from 'zod';
import { CtlError } from '../../common/errors.js';
import { authPaths } from './api-tokens.js';
import { SecretsFile } from './secrets-store.js';

const request = z.object({
  host: z.string(),
  csr: z.string(),
  /** SHA-256 of the requesting key, shown so the operator can compare it with the host's. */
  key: z.string(),
  peer: z.string(),
  requestedAt: z.string(),
  state: z.enum(['pending', 'accepted', 'rejected']),
  decidedAt: z.string().optional(),
  /** The signed certificate, kept until the agent collects it. */
  cert: z.string().optional(),
});
const schema = z.object({ version: z.literal(1), requests: z.array(request) });

export type EnrollmentRequest = z.infer<typeof request>;

/**
 * Certificate requests that came without a token and wait for an operator, as `salt-key` keeps
 * unaccepted keys: `ctl agents pending`, `accept HOST`, `reject HOST`. One request per host.
 */
export class EnrollmentRequests {
  private constructor(
    private readonly file: SecretsFile<z.infer<typeof schema>>,
    private readonly clock: () => Date,
  ) {}

  static open(dataDir: string, clock: () => Date = () => new Date()): EnrollmentRequests {
    return new EnrollmentRequests(SecretsFile.open(authPaths(dataDir).enrollmentRequests, schema, () => ({ version: 1 as const, requests: [] })), clock);
  }

  get(host: string): EnrollmentRequest | undefined {
    return this.file.data.requests.find((r) => r.host === host);
  }

  list(state?: EnrollmentRequest['state']): Omit<EnrollmentRequest, 'csr' | 'cert'>[] {
    return this.file.data.requests.filter((r) => !state || r.state === state).map(({ csr: _c, cert: _k, ...r }) => r);
  }

  async add(r: { host: string; csr: string; key: string; peer: string }): Promise<EnrollmentRequest> {
    if (this.get(r.host)) throw new CtlError('CTL_ERR_ENROLLMENT_REFUSED', `a request for '${r.host}' is already recorded`, { field: 'host' });
    const rec: EnrollmentRequest = { ...r, requestedAt: this.clock().toISOString(), state: 'pending' };
    this.file.data.requests.push(rec);
    await this.file.save();
    return rec;
  }

  async decide(host: string, decision: { state: 'accepted'; cert: string } | { state: 'rejected' }): Promise<EnrollmentRequest> {
    const r = this.get(host);
    if (!r || r.state !== 'pending') throw new CtlError('CTL_ERR_ENROLLMENT_NOT_FOUND', `no pending enrollment request for '${host}'`, { field: 'host' });
    r.state = decision.state;
    r.decidedAt = this.clock().toISOString();
    if (decision.state === 'accepted') r.cert = decision.cert;
    await this.file.save();
    return r;
  }

  /** Removes a host's request (collected, or forgotten by the operator). */
  async remove(host: string): Promise<boolean> {
    const before = this.file.data.requests.length;
    this.file.data.requests = this.file.data.requests.filter((r) => r.host !== host);
    if (this.file.data.requests.length === before) return false;
    await this.file.save();
    return true;
  }
}
