import { existsSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../common/log.js';
import { enroll } from './enroll.js';
import { identityPaths, loadIdentity, tlsClientOptions, type AgentIdentity } from './identity.js';

export interface TrustFlags {
  controller: string;
  /** --name: the host name to enroll as and to claim; default the certificate's, else hostname. */
  name: string | undefined;
  defaultName: string;
  stateDir: string;
  enrollTokenFile?: string;
  caFingerprint?: string;
  caFile?: string;
  insecure: boolean;
  tokenFile?: string;
}

export type AgentTrust =
  | { kind: 'tls'; name: string; identity: AgentIdentity }
  | { kind: 'insecure'; name: string; token: string };

/** A usage problem the agent reports with its usage line (exit 5). */
export class TrustUsageError extends Error {}

function readToken(file: string, what: string): string {
  const t = readFileSync(file, 'utf8').trim();
  if (!t) throw new TrustUsageError(`${what} ${file} is empty`);
  return t;
}

/**
 * Decides how the agent proves itself. Over https (the default, and the only way without
 * `--insecure`): its certificate from the state folder, enrolling first when it has none. Over
 * plain http only with `--insecure`: the dev controller's shared token, from a file or the
 * environment, never from the command line.
 */
export async function agentTrust(f: TrustFlags, log: Logger): Promise<AgentTrust> {
  const scheme = new URL(f.controller).protocol;
  if (scheme === 'http:' || f.insecure) {
    if (!f.insecure) throw new TrustUsageError(`${f.controller} is plain http: the agent speaks TLS only (https://), unless started with --insecure for a dev controller`);
    if (scheme !== 'http:') throw new TrustUsageError('--insecure is for an http:// dev controller; an https:// one is reached with a certificate');
    const token = f.tokenFile ? readToken(f.tokenFile, '--token-file') : process.env.LVSCTL_TOKEN;
    if (!token) throw new TrustUsageError('--insecure needs the dev controller\'s token: --token-file FILE or LVSCTL_TOKEN');
    log.warn({ insecure: true, controller: f.controller }, 'INSECURE: --insecure: plain HTTP, no certificate, a shared token; anyone on the path can read it and pose as the controller');
    return { kind: 'insecure', name: f.name ?? f.defaultName, token };
  }
  if (scheme !== 'https:') throw new TrustUsageError(`${f.controller}: the controller is reached over https://`);
  let identity = loadIdentity(f.stateDir);
  if (!identity) {
    const caPem = f.caFile ? readFileSync(f.caFile, 'utf8') : existsSync(identityPaths(f.stateDir).ca) ? readFileSync(identityPaths(f.stateDir).ca, 'utf8') : undefined;
    if (!caPem && !f.caFingerprint) throw new TrustUsageError(`no certificate in ${f.stateDir}: enrolling needs the controller's CA, --ca-fingerprint SHA256 (ctl controller init printed it) or --ca FILE`);
    const tokenFile = f.enrollTokenFile;
    const token = tokenFile ? () => (existsSync(tokenFile) ? readToken(tokenFile, '--enroll-token-file') : undefined) : () => process.env.LVSCTL_ENROLL_TOKEN || undefined;
    const host = f.name ?? f.defaultName;
    log.info({ host, stateDir: f.stateDir, with: tokenFile || process.env.LVSCTL_ENROLL_TOKEN ? 'token' : 'operator approval' }, 'no certificate yet: enrolling');
    identity = await enroll({ controller: f.controller, host, stateDir: f.stateDir, token, ...(caPem ? { caPem } : { caFingerprint: f.caFingerprint! }), log });
  }
  const cn = new X509Certificate(identity.certPem).subject.match(/^CN=(.*)$/m)?.[1];
  return { kind: 'tls', name: f.name ?? cn ?? f.defaultName, identity };
}

/** What the socket.io client is given for this trust: TLS with the pinned CA, or the token. */
export function socketAuth(t: AgentTrust, protocol: number) {
  if (t.kind === 'insecure') return { auth: { token: t.token, name: t.name, protocol } };
  // No token in a TLS handshake: the certificate is the credential, the name only a claim.
  return { auth: { name: t.name, protocol }, ...tlsClientOptions(t.identity) };
}
