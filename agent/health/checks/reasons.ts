import { secondsText } from '../types.js';

/** The reasons a failed check gives, worded as operators read them in `ctl status` and `ctl events`. */

export function timeoutReason(seconds: number): string {
  return `timeout ${secondsText(seconds)} s`;
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connect refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connect timed out',
  EADDRNOTAVAIL: 'source address not available',
  EADDRINUSE: 'no free source port',
};

/** A socket or HTTP client error as a short reason ("connect refused", "bad HTTP response"). */
export function socketReason(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (SOCKET_REASONS[code]) return SOCKET_REASONS[code];
  if (code.startsWith('HPE_')) return 'bad HTTP response';
  return code ? `error ${code}` : `error: ${err.message}`;
}
