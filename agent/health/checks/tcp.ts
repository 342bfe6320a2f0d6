import net from 'node:net';
import type { TcpCheck } from '../schema.js';
import type { CheckResult, CheckTarget } from '../types.js';
import { socketReason, timeoutReason } from './reasons.js';

/** TCP_CHECK: a connect, from the director's own stack, closed at once; no bytes sent. */
export function tcpCheck(check: Pick<TcpCheck, 'port' | 'source' | 'timeout'>, target: CheckTarget): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    const socket = net.connect({ host: target.address, port: check.port ?? target.port, ...(check.source ? { localAddress: check.source } : {}) });
    const finish = (r: CheckResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: timeoutReason(check.timeout) }), check.timeout * 1000);
    socket.once('connect', () => finish({ ok: true, detail: 'connected' }));
    socket.once('error', (e) => finish({ ok: false, reason: socketReason(e) }));
  });
}
