import { isIP } from 'node:net';
import { generateKeyPair, privateKeyPem, randomSerial, SIGN_ALG, x509 } from '../../common/x509.js';

const DAY = 86_400_000;
/** Certificates start a little in the past so that a host whose clock lags accepts them. */
const SKEW_MS = 5 * 60_000;

export const VALIDITY_DAYS = { ca: 3650, server: 825, agent: 365 } as const;

export interface CaMaterial {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface NewCa {
  certPem: string;
  keyPem: string;
}

const CA_NAME = 'lvsctl agent CA';

/** A private CA that signs only end-entity certificates (path length 0). */
export async function createCa(now: Date, label = CA_NAME): Promise<NewCa> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [label] }, { O: ['lvsctl'] }],
    notBefore: new Date(now.getTime() - SKEW_MS),
    notAfter: new Date(now.getTime() + VALIDITY_DAYS.ca * DAY),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

export interface LeafRequest {
  publicKey: x509.PublicKey | CryptoKey;
  cn: string;
  /** Host names and addresses; addresses become IP SANs, so TLS clients may dial them. */
  sans: string[];
  usage: 'server' | 'client';
  now: Date;
  days: number;
  /** Tests issue certificates that are already expired or not yet valid. */
  notBefore?: Date;
  notAfter?: Date;
  serial: string;
}

/** An end-entity certificate signed by the CA. */
export async function issueLeaf(ca: CaMaterial, req: LeafRequest): Promise<x509.X509Certificate> {
  const sans = req.sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s }));
  return x509.X509CertificateGenerator.create({
    serialNumber: req.serial,
    subject: [{ CN: [req.cn] }],
    issuer: ca.cert.subjectName,
    notBefore: req.notBefore ?? new Date(req.now.getTime() - SKEW_MS),
    notAfter: req.notAfter ?? new Date(req.now.getTime() + req.days * DAY),
    publicKey: req.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([req.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(req.publicKey),
    ],
  });
}
