import https from 'node:https';

export interface LabApiAnswer {
  status: number;
  json: unknown;
}

/**
 * One request to the lab's controller on 127.0.0.1 over TLS, trusting the lab's CA only, with
 * its API token in the header. Rejects with the transport error (ECONNREFUSED, a certificate
 * that does not verify, ...).
 */
export function labApi(port: number, token: string, ca: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 3000): Promise<LabApiAnswer> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, method, ca, rejectUnauthorized: true, agent: false, timeout: timeoutMs, headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(data);
  });
}
