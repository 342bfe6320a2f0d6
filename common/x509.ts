import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
// @peculiar/x509 registers its algorithms with tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/**
 * The X.509 pieces both sides share: keys, PEM, CSRs, fingerprints. ECDSA P-256 with SHA-256
 * everywhere: small keys, fast handshakes, supported by every TLS stack that matters here.
 * Everything goes through @peculiar/x509 and node's webcrypto; no hand-made ASN.1.
 */
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const OID = { subjectAltName: '2.5.29.17', extKeyUsage: '2.5.29.37', basicConstraints: '2.5.29.19', clientAuth: '1.3.6.1.5.5.7.3.2', serverAuth: '1.3.6.1.5.5.7.3.1' } as const;

export const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * Host names a certificate may name: the hub's agent names, starting with a letter or digit
 * (as host names do, and so that `__proto__` can never be a key of the registry).
 */
export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 PEM, the form node's tls takes as `key`. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A key pair from a PKCS#8 PEM: node derives the public half, webcrypto imports both. */
export async function keyPairFromPem(pem: string): Promise<CryptoKeyPair> {
  const priv = createPrivateKey(pem);
  const pub = createPublicKey(priv);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), KEY_ALG, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', pub.export({ type: 'spki', format: 'der' }), KEY_ALG, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

/**
 * A random serial: 128 bits with the top bit clear (a positive INTEGER) and the next one set
 * (so no leading zero byte is dropped), as RFC 5280 asks: unique and unpredictable.
 */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

/** `AB:CD:...` SHA-256 of a certificate's DER, as `openssl x509 -fingerprint -sha256` prints it. */
export function fingerprint(cert: x509.X509Certificate | string | Buffer | ArrayBuffer): string {
  const c = cert instanceof x509.X509Certificate ? cert : new x509.X509Certificate(cert as string);
  const hex = createHash('sha256').update(Buffer.from(c.rawData)).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** SHA-256 of a public key (its SPKI DER): the identity that survives renewal. */
export function keyFingerprint(key: x509.PublicKey): string {
  return createHash('sha256').update(Buffer.from(key.rawData)).digest('hex');
}

/**
 * Whether a CA certificate is the one an operator copied: accepts `AB:CD:..`, `abcd..`, and a
 * `sha256:`/`SHA256:` prefix, as the various tools print it.
 */
export function fingerprintMatches(certPem: string, expected: string): boolean {
  const norm = (s: string) => s.trim().replace(/^sha-?256:/i, '').replace(/[:\s]/g, '').toLowerCase();
  const want = norm(expected);
  return /^[0-9a-f]{64}$/.test(want) && norm(fingerprint(certPem)) === want;
}

/** A certificate request for `host` (CN and DNS name), signed with the host's own key. */
export async function createCsr(keys: CryptoKeyPair, host: string): Promise<string> {
  if (!HOST_NAME.test(host)) throw new Error(`host name '${host}' must be letters, digits, _ . - (starting with a letter or digit, at most 64)`);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [host] }],
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }])],
  });
  return csr.toString('pem');
}

/** The host name a certificate or request names: its CN, which its DNS names must agree with. */
export function namesOf(subject: x509.Name, extensions: readonly x509.Extension[]): { cn: string[]; dns: string[]; ip: string[] } {
  const san = extensions.find((e) => e.type === OID.subjectAltName);
  const names = san ? new x509.SubjectAlternativeNameExtension(san.rawData).names.items : [];
  return {
    cn: subject.getField('CN'),
    dns: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ip: names.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}
