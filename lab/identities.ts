import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { enrollOnce, type EnrollOutcome } from '../agent/enroll.js';
import { identityPaths, loadIdentity, renewalDue } from '../agent/identity.js';
import { CtlError } from '../common/errors.js';
import { silentLogger } from '../common/log.js';
import { labApi } from './lab-api.js';
import type { LabPaths } from './paths.js';
import { controllerUrl } from './state.js';
import { LAB_HOST_NAMES } from './topology.js';

interface CertRecord {
  host: string;
  state: 'enrolled' | 'revoked';
  keyFingerprint: string;
}

const keyOf = (keyPem: string) => createHash('sha256').update(createPublicKey(keyPem).export({ type: 'spki', format: 'der' })).digest('hex');

function fail(what: string, r: EnrollOutcome | { status: number; json: unknown }): never {
  const why = 'kind' in r ? (r.kind === 'refused' || r.kind === 'failed' ? r.reason : r.kind) : `HTTP ${r.status} ${JSON.stringify(r.json)}`;
  throw new CtlError('CTL_ERR_LAB', `${what}: ${why}`);
}

/**
 * Each lab host's agent identity, made before the guest boots (the guest's roots are tmpfs
 * that do not outlive a boot, and a new key for an enrolled host would be refused): a key in
 * `<lab>/agents/HOST/` (0600), enrolled through the controller's real API as an operator would:
 * a one-time token for hosts it does not know; for a host it knows by another key (or a
 * revoked one), revoke, a pending request with a fresh key, and accept. Kept across boots
 * while the controller still knows the key.
 */
export async function ensureLabIdentities(p: LabPaths, port: number, token: string, ca: string, log: (m: string) => void): Promise<void> {
  const api = (method: 'GET' | 'POST', path: string, body?: unknown) => labApi(port, token, ca, method, path, body, 30_000);
  const listed = await api('GET', '/api/agents/certificates');
  if (listed.status !== 200) fail('cannot list the lab agents\' certificates', listed);
  const known = new Map(((listed.json as { certificates: CertRecord[] }).certificates ?? []).map((c) => [c.host, c]));
  const caFp = new X509Certificate(ca).fingerprint256;
  const fresh: string[] = [];
  const again: string[] = [];
  for (const host of LAB_HOST_NAMES) {
    const dir = join(p.agentsDir, host);
    const id = loadIdentity(dir);
    const rec = known.get(host);
    const valid = id && new X509Certificate(id.caPem).fingerprint256 === caFp && !renewalDue(id.certPem) && rec?.state === 'enrolled' && rec.keyFingerprint === keyOf(id.keyPem);
    if (valid) continue;
    for (const f of Object.values(identityPaths(dir))) if (f !== dir) rmSync(f, { force: true });
    (rec ? again : fresh).push(host);
  }
  const enroll = (host: string, tok?: string) => enrollOnce({ controller: controllerUrl(port), host, stateDir: join(p.agentsDir, host), caPem: ca, log: silentLogger, ...(tok ? { token: () => tok } : {}) });

  if (fresh.length) {
    const made = await api('POST', '/api/enroll-tokens', { hosts: fresh.join(','), uses: fresh.length, ttlSeconds: 600 });
    if (made.status !== 200) fail('cannot make an enrollment token for the lab', made);
    const tok = (made.json as { token: string }).token;
    for (const host of fresh) {
      const r = await enroll(host, tok);
      if (r.kind !== 'issued') fail(`cannot enroll lab host ${host}`, r);
    }
    log(`agents ${fresh.join(', ')} enrolled with a one-time token`);
  }
  for (const host of again) {
    if (known.get(host)!.state === 'enrolled') {
      const revoked = await api('POST', `/api/agents/${host}/revoke`);
      if (revoked.status !== 200) fail(`cannot revoke the old certificate of ${host}`, revoked);
    }
    const asked = await enroll(host);
    if (asked.kind !== 'pending') fail(`lab host ${host}: expected a pending request`, asked);
    const accepted = await api('POST', `/api/agents/${host}/accept`);
    if (accepted.status !== 200) fail(`cannot accept the request of ${host}`, accepted);
    const r = await enroll(host);
    if (r.kind !== 'issued') fail(`cannot collect the certificate of ${host}`, r);
  }
  if (again.length) log(`agents ${again.join(', ')} enrolled again with a new key (accepted)`);
}
