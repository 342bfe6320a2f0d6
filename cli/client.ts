import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CtlError, type ErrorCode } from '../common/errors.js';

export interface Endpoint {
  url: string;
  token: string;
}

export const DEFAULT_PORT = 7480;
export const DEFAULT_DATA = '.data/controller';

/**
 * Where the controller is: --controller/--token, then LVSCTL_URL/LVSCTL_TOKEN, then a lab's
 * state file, then the embedded default (127.0.0.1:7480, token from ./.data/controller/token).
 */
export function resolveEndpoint(flags: { controller?: string; token?: string }, labEndpoint?: () => Endpoint | undefined): Endpoint {
  const lab = labEndpoint?.();
  const url = flags.controller ?? process.env.LVSCTL_URL ?? lab?.url ?? `http://127.0.0.1:${DEFAULT_PORT}`;
  let token = flags.token ?? process.env.LVSCTL_TOKEN ?? (lab && lab.url === url ? lab.token : undefined);
  if (!token) {
    const f = path.resolve(DEFAULT_DATA, 'token');
    if (existsSync(f)) token = readFileSync(f, 'utf8').trim();
  }
  if (!token) throw new CtlError('CTL_ERR_UNAUTHORIZED', `no token for ${url}: pass --token or set LVSCTL_TOKEN`);
  return { url: url.replace(/\/$/, ''), token };
}

export class Client {
  constructor(readonly ep: Endpoint) {}

  private async fetch(p: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.ep.url + p, {
        ...init,
        headers: { authorization: `Bearer ${this.ep.token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new CtlError('CTL_ERR_CONTROLLER_UNREACHABLE', `cannot reach the controller at ${this.ep.url} (${cause}); start one with: ctl controller start`);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: ErrorCode; message?: string; where?: object } };
      const err = body.error;
      if (err?.code) throw new CtlError(err.code, err.message ?? res.statusText, err.where);
      throw new CtlError('CTL_ERR_INTERNAL', `${res.status} ${res.statusText}`);
    }
    return res;
  }

  async get<T>(p: string): Promise<T> {
    return (await (await this.fetch(p)).json()) as T;
  }

  async post<T>(p: string, body: unknown): Promise<T> {
    return (await (await this.fetch(p, { method: 'POST', body: JSON.stringify(body) })).json()) as T;
  }

  /** Reads an NDJSON stream, calling back once per line. */
  async stream(p: string, onLine: (v: unknown) => void): Promise<void> {
    const res = await this.fetch(p);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) onLine(JSON.parse(line));
      }
    }
  }
}
