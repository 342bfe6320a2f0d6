import http from 'node:http';
import type { HttpCheck } from '../schema.js';
import { statusMatches, statusRanges } from '../status-codes.js';
import type { CheckResult, CheckTarget } from '../types.js';
import { socketReason, timeoutReason } from './reasons.js';

/** No more of a body is read than this; `expect` must appear within it. */
export const BODY_LIMIT = 64 * 1024;

type HttpCheckArgs = Pick<HttpCheck, 'path' | 'host' | 'status' | 'expect' | 'port' | 'source' | 'timeout'>;

/**
 * HTTP_GET: one request on a fresh connection (no keep-alive: a check must prove a new
 * connection works), one deadline for connect, headers and body, at most BODY_LIMIT bytes read.
 */
export function httpCheck(check: HttpCheckArgs, target: CheckTarget): Promise<CheckResult> {
  const ranges = statusRanges(check.status);
  const want = check.expect === undefined ? undefined : Buffer.from(check.expect);
  return new Promise((resolve) => {
    let done = false;
    const abort = new AbortController();
    const finish = (r: CheckResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      abort.abort();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: timeoutReason(check.timeout) }), check.timeout * 1000);
    const req = http.request({
      host: target.address,
      port: check.port ?? target.port,
      path: check.path,
      method: 'GET',
      agent: false,
      signal: abort.signal,
      ...(check.source ? { localAddress: check.source } : {}),
      headers: {
        ...(check.host ? { host: check.host } : {}),
        'user-agent': 'lvsctl-health',
        accept: '*/*',
        connection: 'close',
      },
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: socketReason(e) }));
    req.on('response', (res) => {
      const code = res.statusCode ?? 0;
      if (!statusMatches(ranges, code)) return finish({ ok: false, reason: `HTTP ${code}` });
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = () => {
        if (!want || Buffer.concat(chunks).subarray(0, BODY_LIMIT).includes(want)) return finish({ ok: true, detail: `HTTP ${code}` });
        finish({ ok: false, reason: `body does not contain '${check.expect!.length > 40 ? check.expect!.slice(0, 40) + '...' : check.expect}'` });
      };
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        size += d.length;
        // A match ends the read early; so does the limit, however much the server has left to send.
        if (size >= BODY_LIMIT || (want && Buffer.concat(chunks).includes(want))) judge();
      });
      res.on('end', judge);
      res.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: socketReason(e) }));
      res.on('aborted', () => finish({ ok: false, reason: 'connection reset' }));
    });
    req.end();
  });
}
