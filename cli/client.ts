import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
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

/**
 * The controller's HTTP API over node:http (plain HTTP on the management network; fetch costs
 * ~30 ms of start-up in every ctl invocation). Errors come back as the controller's CtlError.
 */
export class Client {
  constructor(readonly ep: Endpoint) {}

  private request(p: string, method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<http.IncomingMessage> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.ep.url + p,
        {
          method,
          headers: { authorization: `Bearer ${this.ep.token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
        },
        resolve,
      );
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(new CtlError('CTL_ERR_CONTROLLER_UNREACHABLE', `cannot reach the controller at ${this.ep.url} (${e.code ?? e.message}); start one with: ctl controller start`)),
      );
      req.end(data);
    });
  }

  private async call(p: string, method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<http.IncomingMessage> {
    const res = await this.request(p, method, body);
    if ((res.statusCode ?? 500) < 400) return res;
    const text = await readAll(res);
    let err: { code?: ErrorCode; message?: string; where?: object } | undefined;
    try {
      err = (JSON.parse(text) as { error?: typeof err }).error;
    } catch {
      err = undefined;
    }
    if (err?.code) throw new CtlError(err.code, err.message ?? String(res.statusCode), err.where);
    throw new CtlError('CTL_ERR_INTERNAL', `${res.statusCode} ${res.statusMessage}`);
  }

  async get<T>(p: string): Promise<T> {
    return JSON.parse(await readAll(await this.call(p, 'GET'))) as T;
  }

  async post<T>(p: string, body: unknown): Promise<T> {
    return JSON.parse(await readAll(await this.call(p, 'POST', body))) as T;
  }

  async delete<T>(p: string): Promise<T> {
    return JSON.parse(await readAll(await this.call(p, 'DELETE'))) as T;
  }

  /** Reads an NDJSON stream, calling back once per line as it arrives. */
  async stream(p: string, onLine: (v: unknown) => void): Promise<void> {
    const res = await this.call(p, 'GET');
    res.setEncoding('utf8');
    let buf = '';
    for await (const chunk of res) {
      buf += chunk as string;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) onLine(JSON.parse(line));
      }
    }
  }
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let s = '';
  for await (const chunk of res) s += chunk as string;
  return s;
}
