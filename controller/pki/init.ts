import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import { CtlError } from '../../common/errors.js';
import { fingerprint, generateKeyPair, HOST_NAME, privateKeyPem } from '../../common/x509.js';
import { ApiTokens } from '../auth/api-tokens.js';
import { ensurePrivateDir, writePrivateFileAtomic } from '../auth/secrets-store.js';
import { createCa } from './ca.js';
import { Pki, pkiPaths } from './pki.js';

export interface InitResult {
  caFingerprint: string;
  caCertFile: string;
  serverCertFile: string;
  sans: string[];
  /** The first admin API token: shown once, only its hash is kept. */
  adminToken: string;
  adminTokenName: string;
}

/** Names the controller answers to when none are given: this host and loopback. */
export function defaultSans(): string[] {
  return [...new Set([os.hostname(), 'localhost', '127.0.0.1', '::1'])];
}

function checkSan(s: string): string {
  if (isIP(s) || (HOST_NAME.test(s) && !s.startsWith('.') && !s.endsWith('.'))) return s;
  throw new CtlError('CTL_ERR_USAGE', `--san '${s}' is neither a host name nor an IP address`, { field: 'san' });
}

/**
 * `ctl controller init`: a new CA (key 0600), the controller's TLS certificate for `sans`, and
 * the first admin API token. Refuses a data folder that already has a CA: re-running must never
 * replace the CA every agent pins.
 */
export async function initController(dataDir: string, sans: string[] = [], clock: () => Date = () => new Date()): Promise<InitResult> {
  const paths = pkiPaths(dataDir);
  if (existsSync(paths.caKey) || existsSync(paths.caCert)) {
    throw new CtlError('CTL_ERR_ALREADY_INITIALISED', `${dataDir} already holds a CA (${paths.caCert}); it is kept, nothing was changed`, { file: paths.caCert });
  }
  const names = (sans.length ? sans : defaultSans()).map(checkSan);
  ensurePrivateDir(dataDir);
  ensurePrivateDir(paths.dir);
  const ca = await createCa(clock());
  const serverKeys = await generateKeyPair();
  // The CA certificate last: its presence is what marks the folder initialised.
  await writePrivateFileAtomic(paths.caKey, ca.keyPem);
  await writePrivateFileAtomic(paths.serverKey, await privateKeyPem(serverKeys.privateKey));
  await writePrivateFileAtomic(paths.caCert, ca.certPem + '\n', 0o644);
  const pki = await Pki.open(dataDir, { clock });
  await pki.issueServerCert(names, serverKeys);
  const adminToken = await ApiTokens.open(dataDir, clock).create('admin');
  return {
    caFingerprint: fingerprint(ca.certPem),
    caCertFile: paths.caCert,
    serverCertFile: paths.serverCert,
    sans: names,
    adminToken,
    adminTokenName: 'admin',
  };
}
