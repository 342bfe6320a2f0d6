import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, writePrivateFileAtomic } from '../common/private-file.js';
import { createCsr, fingerprintMatches, generateKeyPair, keyPairFromPem, privateKeyPem, x509 } from '../common/x509.js';

/**
 * The agent's side of trust, in its state folder (0700): its own key (0600, made here and never
 * sent anywhere), the certificate the controller signed, and the CA it pins.
 */
export function identityPaths(stateDir: string) {
  return { dir: stateDir, key: path.join(stateDir, 'agent.key'), cert: path.join(stateDir, 'agent.crt'), ca: path.join(stateDir, 'ca.crt') };
}

export interface AgentIdentity {
  keyPem: string;
  certPem: string;
  caPem: string;
}

/** The agent's key pair, made on first use. */
export async function loadOrCreateKey(stateDir: string): Promise<{ keys: CryptoKeyPair; keyPem: string }> {
  const p = identityPaths(stateDir);
  ensurePrivateDir(p.dir);
  if (existsSync(p.key)) {
    const keyPem = readFileSync(p.key, 'utf8');
    return { keys: await keyPairFromPem(keyPem), keyPem };
  }
  const keys = await generateKeyPair();
  const keyPem = await privateKeyPem(keys.privateKey);
  await writePrivateFileAtomic(p.key, keyPem);
  return { keys, keyPem };
}

/** The CSR an enrolling agent sends: its host name, signed with its own key. */
export async function enrollmentCsr(stateDir: string, host: string): Promise<string> {
  return createCsr((await loadOrCreateKey(stateDir)).keys, host);
}

/**
 * Keeps the signed certificate and the CA, after checking that the certificate is for this
 * agent's key and chains to that CA: a wrong answer must not replace a working identity.
 */
export async function saveIdentity(stateDir: string, certPem: string, caPem: string): Promise<void> {
  const p = identityPaths(stateDir);
  const { keys } = await loadOrCreateKey(stateDir);
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caPem);
  const mine = Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey)).equals(Buffer.from(cert.publicKey.rawData));
  if (!mine) throw new Error('the certificate the controller returned is not for this agent\'s key');
  if (!(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }))) throw new Error('the certificate the controller returned is not signed by its CA');
  await writePrivateFileAtomic(p.cert, certPem.trimEnd() + '\n', 0o644);
  await writePrivateFileAtomic(p.ca, caPem.trimEnd() + '\n', 0o644);
}

export function loadIdentity(stateDir: string): AgentIdentity | undefined {
  const p = identityPaths(stateDir);
  if (![p.key, p.cert, p.ca].every((f) => existsSync(f))) return undefined;
  return { keyPem: readFileSync(p.key, 'utf8'), certPem: readFileSync(p.cert, 'utf8'), caPem: readFileSync(p.ca, 'utf8') };
}

/**
 * TLS options for the agent's connection: the pinned CA only (never the system store), its
 * client certificate, and verification always on.
 */
export function tlsClientOptions(id: AgentIdentity): { ca: string; cert: string; key: string; rejectUnauthorized: true } {
  return { ca: id.caPem, cert: id.certPem, key: id.keyPem, rejectUnauthorized: true };
}

/** Whether a CA offered during enrollment is the one the operator named by fingerprint. */
export function caMatches(caPem: string, fingerprint: string): boolean {
  return fingerprintMatches(caPem, fingerprint);
}

/** Renew when less than `windowDays` of validity remain. */
export function renewalDue(certPem: string, now = new Date(), windowDays = 30): boolean {
  return new x509.X509Certificate(certPem).notAfter.getTime() - now.getTime() < windowDays * 86_400_000;
}
