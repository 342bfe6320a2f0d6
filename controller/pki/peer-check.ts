import { HOST_NAME, keyFingerprint, namesOf, OID, x509 } from '../../common/x509.js';
import type { CertRegistry } from './registry.js';

/** Why a presented certificate was refused; `definitive` ones stop an agent's fast retries. */
export type PeerRefusal =
  | 'no-certificate'
  | 'malformed'
  | 'untrusted'
  | 'not-yet-valid'
  | 'expired'
  | 'not-client'
  | 'bad-name'
  | 'revoked'
  | 'not-enrolled'
  | 'superseded'
  | 'name-mismatch';

export type PeerCheck =
  | { ok: true; host: string; serial: string; notAfter: Date }
  | { ok: false; refusal: PeerRefusal; reason: string; definitive: boolean; serial?: string; host?: string };

const DEFINITIVE: ReadonlySet<PeerRefusal> = new Set(['revoked', 'superseded', 'untrusted', 'expired', 'not-client', 'name-mismatch']);

export interface PeerCheckOptions {
  /** The name the peer claims in its handshake; it must be the certificate's. */
  claimed?: string;
  now?: Date;
}

function refuse(refusal: PeerRefusal, reason: string, extra: { serial?: string; host?: string } = {}): PeerCheck {
  return { ok: false, refusal, reason, definitive: DEFINITIVE.has(refusal), ...extra };
}

/**
 * Decides whether a TLS peer is an enrolled agent, from its certificate alone: signed by this
 * CA, in its validity period, made for client authentication, naming one valid host, not
 * revoked, and one of the certificates issued for that host's current key. Does its own chain
 * check, so it holds also where the TLS layer runs with `rejectUnauthorized: false` (the API
 * shares the port with clients that present no certificate).
 */
export async function checkPeerCertificate(ca: x509.X509Certificate, registry: CertRegistry, raw: Uint8Array | ArrayBuffer | undefined | null, opts: PeerCheckOptions = {}): Promise<PeerCheck> {
  if (!raw || raw.byteLength === 0) return refuse('no-certificate', 'no client certificate presented');
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(raw));
  } catch (e) {
    return refuse('malformed', `certificate cannot be parsed: ${(e as Error).message}`);
  }
  const serial = cert.serialNumber;
  const now = opts.now ?? new Date();
  let signed = false;
  try {
    signed = cert.issuer === ca.subject && (await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }));
  } catch {
    signed = false;
  }
  if (!signed) return refuse('untrusted', `certificate (issuer '${cert.issuer}') is not signed by this controller's CA`, { serial });
  if (now < cert.notBefore) return refuse('not-yet-valid', `certificate is valid only from ${cert.notBefore.toISOString()}`, { serial });
  if (now > cert.notAfter) return refuse('expired', `certificate expired at ${cert.notAfter.toISOString()}`, { serial });
  const eku = cert.getExtension(OID.extKeyUsage);
  const usages = eku ? new x509.ExtendedKeyUsageExtension(eku.rawData).usages.map(String) : [];
  if (!usages.includes(OID.clientAuth)) return refuse('not-client', 'certificate is not for client authentication', { serial });
  const names = namesOf(cert.subjectName, cert.extensions);
  const host = names.cn[0];
  if (names.cn.length !== 1 || !host || !HOST_NAME.test(host) || names.dns.some((d) => d !== host)) {
    return refuse('bad-name', `certificate names no single valid host (CN ${names.cn.join(', ') || 'none'})`, { serial });
  }
  if (registry.isRevoked(serial)) return refuse('revoked', `certificate ${serial} of ${host} is revoked`, { serial, host });
  const rec = registry.host(host);
  if (!rec) return refuse('not-enrolled', `${host} is not enrolled`, { serial, host });
  if (rec.key !== keyFingerprint(cert.publicKey) || !rec.certs.some((c) => c.serial === serial)) {
    return refuse('superseded', `certificate ${serial} is not a current certificate of ${host}`, { serial, host });
  }
  if (opts.claimed !== undefined && opts.claimed !== host) {
    return refuse('name-mismatch', `claims to be '${opts.claimed}' but its certificate is for '${host}'`, { serial, host });
  }
  return { ok: true, host, serial, notAfter: cert.notAfter };
}
