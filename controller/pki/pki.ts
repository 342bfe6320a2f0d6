import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import { fingerprint, HOST_NAME, keyFingerprint, keyPairFromPem, namesOf, randomSerial, x509 } from '../../common/x509.js';
import { ensurePrivateDir, writePrivateFileAtomic } from '../auth/secrets-store.js';
import { issueLeaf, VALIDITY_DAYS, type CaMaterial } from './ca.js';
import { checkPeerCertificate, type PeerCheck, type PeerCheckOptions } from './peer-check.js';
import { CertRegistry } from './registry.js';

export function pkiPaths(dataDir: string) {
  const dir = path.join(dataDir, 'pki');
  return {
    dir,
    caKey: path.join(dir, 'ca.key'),
    caCert: path.join(dir, 'ca.crt'),
    serverKey: path.join(dir, 'server.key'),
    serverCert: path.join(dir, 'server.crt'),
    registry: path.join(dir, 'certs.json'),
  };
}

export interface IssuedCert {
  host: string;
  serial: string;
  notAfter: Date;
  certPem: string;
}

export interface AgentCertView {
  host: string;
  state: 'enrolled' | 'revoked';
  serial: string | null;
  notAfter: string | null;
  keyFingerprint: string;
  enrolledAt: string;
  revokedAt?: string;
}

export interface PkiOptions {
  clock?: () => Date;
}

/**
 * The controller's private CA: signs agents' requests, renews, revokes, and judges the
 * certificates agents present. The CA key never leaves `<data>/pki/ca.key` (0600).
 */
export class Pki {
  private readonly clock: () => Date;

  private constructor(
    readonly paths: ReturnType<typeof pkiPaths>,
    private readonly ca: CaMaterial,
    readonly caPem: string,
    private readonly registry: CertRegistry,
    opts: PkiOptions,
  ) {
    this.clock = opts.clock ?? (() => new Date());
  }

  static async open(dataDir: string, opts: PkiOptions = {}): Promise<Pki> {
    const paths = pkiPaths(dataDir);
    if (!existsSync(paths.caKey) || !existsSync(paths.caCert)) {
      throw new CtlError('CTL_ERR_NOT_INITIALISED', `no CA in ${paths.dir}: run ctl controller init --data ${dataDir}`, { file: paths.caKey });
    }
    ensurePrivateDir(paths.dir);
    const caPem = readFileSync(paths.caCert, 'utf8');
    const ca = { cert: new x509.X509Certificate(caPem), keys: await keyPairFromPem(readFileSync(paths.caKey, 'utf8')) };
    return new Pki(paths, ca, caPem, CertRegistry.open(paths.registry), opts);
  }

  /** `AB:CD:...`, what agents are given as `--ca-fingerprint`. */
  get caFingerprint(): string {
    return fingerprint(this.ca.cert);
  }

  /**
   * Options for node's tls/https server: our certificate (with the CA appended, so an enrolling
   * agent can check the CA against its fingerprint), client certificates requested but checked
   * by `checkPeer` (ctl and browsers on the same port have none).
   */
  serverTlsOptions(): { key: string; cert: string; ca: string; requestCert: true; rejectUnauthorized: false; minVersion: 'TLSv1.2' } {
    return {
      key: readFileSync(this.paths.serverKey, 'utf8'),
      cert: readFileSync(this.paths.serverCert, 'utf8').trimEnd() + '\n' + this.caPem,
      ca: this.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    };
  }

  /**
   * The controller's server certificate for these names and addresses, written beside the CA;
   * for the key in `server.key` unless one is given (init makes it).
   */
  async issueServerCert(sans: string[], keys?: CryptoKeyPair): Promise<IssuedCert> {
    keys ??= await keyPairFromPem(readFileSync(this.paths.serverKey, 'utf8'));
    if (!sans.length) throw new CtlError('CTL_ERR_USAGE', 'the controller certificate needs at least one name or address (--san)', { field: 'san' });
    const cert = await issueLeaf(this.ca, { publicKey: keys.publicKey, cn: sans[0]!, sans, usage: 'server', now: this.clock(), days: VALIDITY_DAYS.server, serial: this.newSerial() });
    await this.registry.recordOther(cert.serialNumber);
    await writePrivateFileAtomic(this.paths.serverCert, cert.toString('pem') + '\n', 0o644);
    return { host: sans[0]!, serial: cert.serialNumber, notAfter: cert.notAfter, certPem: cert.toString('pem') };
  }

  /**
   * Checks a CSR for `host` without signing it: its own signature, and that it names exactly
   * that host (CN, and DNS names if any). Returns the request and its key's fingerprint.
   */
  async inspectCsr(csrPem: string, host: string): Promise<{ csr: x509.Pkcs10CertificateRequest; key: string }> {
    if (!HOST_NAME.test(host)) throw new CtlError('CTL_ERR_CSR', `host name '${host}' must be letters, digits, _ . - (starting with a letter or digit, at most 64)`, { field: 'host' });
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (e) {
      throw new CtlError('CTL_ERR_CSR', `certificate request cannot be parsed: ${(e as Error).message}`, { field: 'csr' });
    }
    let valid = false;
    try {
      valid = await csr.verify();
    } catch {
      valid = false;
    }
    if (!valid) throw new CtlError('CTL_ERR_CSR', 'certificate request signature does not verify', { field: 'csr' });
    const names = namesOf(csr.subjectName, csr.extensions);
    if (names.cn.length !== 1 || names.cn[0] !== host || names.dns.some((d) => d !== host) || names.ip.length) {
      throw new CtlError('CTL_ERR_CSR', `certificate request names '${[...names.cn, ...names.dns, ...names.ip].join(', ')}', not '${host}'`, { field: 'csr' });
    }
    return { csr, key: keyFingerprint(csr.publicKey) };
  }

  /** Signs an agent's request for `host`: a client certificate for the key the agent holds. */
  async signAgentCsr(csrPem: string, host: string, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<IssuedCert> {
    const { csr, key } = await this.inspectCsr(csrPem, host);
    return this.issueAgent(host, csr.publicKey, key, validity);
  }

  /** A new certificate for the same host and key, from a still-valid current one. */
  async renew(certRaw: Buffer | ArrayBuffer | string): Promise<IssuedCert> {
    const der = typeof certRaw === 'string' ? new Uint8Array(new x509.X509Certificate(certRaw).rawData) : new Uint8Array(certRaw);
    const check = await this.checkPeer(der);
    if (!check.ok) throw new CtlError('CTL_ERR_ENROLLMENT_REFUSED', `renewal refused: ${check.reason}`, { field: 'certificate' });
    const cert = new x509.X509Certificate(der);
    return this.issueAgent(check.host, cert.publicKey, keyFingerprint(cert.publicKey));
  }

  private async issueAgent(host: string, publicKey: x509.PublicKey, key: string, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<IssuedCert> {
    const now = this.clock();
    const cert = await issueLeaf(this.ca, { publicKey, cn: host, sans: [host], usage: 'client', now, days: VALIDITY_DAYS.agent, serial: this.newSerial(), ...validity });
    await this.registry.record(host, key, cert.serialNumber, cert.notAfter, now);
    return { host, serial: cert.serialNumber, notAfter: cert.notAfter, certPem: cert.toString('pem') };
  }

  private newSerial(): string {
    for (;;) {
      const s = randomSerial();
      if (!this.registry.known(s)) return s;
    }
  }

  /** Revokes every certificate of `host`; it stays refused across restarts. */
  async revoke(host: string, reason = 'revoked by operator'): Promise<string[]> {
    if (!this.registry.host(host)) throw new CtlError('CTL_ERR_CERT_NOT_FOUND', `no certificate was issued to '${host}'`, { field: 'host' });
    return this.registry.revokeHost(host, reason, this.clock());
  }

  /** Judges a certificate an agent presented (DER, as `getPeerCertificate().raw` gives it). */
  checkPeer(raw: Uint8Array | ArrayBuffer | undefined | null, opts: Omit<PeerCheckOptions, 'now'> = {}): Promise<PeerCheck> {
    return checkPeerCertificate(this.ca.cert, this.registry, raw, { ...opts, now: this.clock() });
  }

  /** The host's enrolled key and revocation state, for enrollment decisions. */
  hostState(host: string): { key: string; revoked: boolean; valid: boolean } | undefined {
    const rec = this.registry.host(host);
    if (!rec) return undefined;
    const now = this.clock().getTime();
    const valid = !rec.revokedAt && rec.certs.some((c) => !this.registry.isRevoked(c.serial) && Date.parse(c.notAfter) > now);
    return { key: rec.key, revoked: !!rec.revokedAt, valid };
  }

  /** The names and addresses the current server certificate is for, and when it expires. */
  serverCert(): { sans: string[]; notAfter: Date } {
    const cert = new x509.X509Certificate(readFileSync(this.paths.serverCert, 'utf8'));
    const names = namesOf(cert.subjectName, cert.extensions);
    return { sans: [...names.dns, ...names.ip], notAfter: cert.notAfter };
  }

  /** Enrolled and revoked agents with their latest certificate, for `ctl agents`. */
  agents(): AgentCertView[] {
    return this.registry.hosts().map(([host, rec]) => {
      const last = rec.certs.at(-1);
      return {
        host,
        state: rec.revokedAt ? 'revoked' : 'enrolled',
        serial: last?.serial ?? null,
        notAfter: last?.notAfter ?? null,
        keyFingerprint: rec.key,
        enrolledAt: rec.enrolledAt,
        ...(rec.revokedAt ? { revokedAt: rec.revokedAt } : {}),
      };
    });
  }
}
