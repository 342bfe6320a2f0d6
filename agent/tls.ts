import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { fingerprintMatches } from '../common/x509.js';

/** TLS options that trust one CA only (never the system store) and always verify. */
export interface PinnedTls {
  ca: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: true;
}

function target(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'https:') throw new Error(`${url}: the controller must be reached over https:// (or start the agent with --insecure)`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 443) };
}

/**
 * The CA the controller offers, accepted only when its SHA-256 fingerprint is the one the
 * operator gave (`--ca-fingerprint`). The connection is closed after the handshake without a
 * byte of application data: nothing (no token, no CSR) reaches a server before its CA is known
 * to be ours. The caller then talks to it with that CA pinned and full verification.
 */
export function fetchPinnedCa(url: string, fingerprint: string, timeoutMs = 10_000): Promise<string> {
  const { host, port } = target(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ...(isIP(host) ? {} : { servername: host }), rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const seen: string[] = [];
      let found: string | undefined;
      let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c?.raw && !found) {
        const pem = new X509Certificate(c.raw).toString();
        seen.push(c.fingerprint256);
        if (fingerprintMatches(pem, fingerprint)) found = pem;
        c = c.issuerCertificate && c.issuerCertificate !== c ? c.issuerCertificate : undefined;
      }
      socket.destroy();
      if (found) resolve(found);
      else reject(new Error(`the server at ${host}:${port} offers no CA with fingerprint ${fingerprint} (it offered ${seen.join(', ') || 'nothing'}): not our controller`));
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs / 1000} s`)));
    socket.on('error', reject);
  });
}

export interface JsonAnswer {
  status: number;
  json: unknown;
}

/** One JSON request over https with the pinned CA (and the agent's certificate, when given). */
export function httpsJson(url: string, path: string, body: unknown, pinned: PinnedTls, timeoutMs = 30_000): Promise<JsonAnswer> {
  target(url);
  const data = JSON.stringify(body ?? {});
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(path, url),
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, ...pinned, agent: false, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown });
          } catch {
            reject(new Error(`${path}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 80)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(data);
  });
}
