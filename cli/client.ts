import http from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import { ApiErrorSchema } from '../common/api.js';
import { CtlError, ERRORS, type ErrorCode } from '../common/errors.js';
import { schemaError } from '../common/schema-error.js';
import { resolveEndpoint, type Endpoint, type EndpointFlags, type LabEndpoint } from './endpoint.js';

export { DEFAULT_DATA, DEFAULT_PORT, resolveEndpoint, resolveUrl, type Endpoint, type EndpointFlags } from './endpoint.js';

/** A client for the controller these flags (or the environment, or a running lab) name. */
export async function clientFor(flags: EndpointFlags): Promise<Client> {
  return new Client(resolveEndpoint(flags, (await labEndpoint())?.()));
}

/** A running lab's endpoint, when the lab's code is there (it is not in every install). */
export async function labEndpoint(): Promise<(() => LabEndpoint | undefined) | undefined> {
  try {
    return (await import('../lab/state.js')).labEndpoint;
  } catch {
    return undefined;
  }
}

/** Checks a response (or one line of a stream) against its schema from common/api.ts. */
export function parseResponse<S extends z.ZodType>(schema: S, data: unknown, root: string, what: string): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  throw schemaError('CTL_ERR_API_RESPONSE', root, r.error.issues, ` (${what}: is the controller the same version as ctl?)`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CtlError('CTL_ERR_API_RESPONSE', `${what}: the answer is not JSON: ${text.slice(0, 80)}`, { field: 'response' });
  }
}

/**
 * The controller's HTTP API over node:https (node:http for an --insecure-http dev controller;
 * fetch costs ~30 ms of start-up in every ctl invocation). Over TLS only the controller's own CA
 * is trusted, never the system store. Errors come back as the controller's CtlError;
 * every answer is parsed with its schema, so a field that is not what the API promises is an
 * error naming that field, not an `undefined` further on.
 */
export class Client {
  constructor(readonly ep: Endpoint) {}

  private request(p: string, method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<http.IncomingMessage> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const tls = this.ep.url.startsWith('https:');
    if (tls && !this.ep.ca) return Promise.reject(new CtlError('CTL_ERR_CONTROLLER_CERT', `no CA to verify ${this.ep.url} with: pass --ca FILE or set LVSCTL_CA`));
    const options = {
      method,
      headers: { authorization: `Bearer ${this.ep.token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      ...(tls ? { ca: this.ep.ca, rejectUnauthorized: true } : {}),
    };
    return new Promise((resolve, reject) => {
      const req = (tls ? https : http).request(this.ep.url + p, options, resolve);
      req.on('error', (e: NodeJS.ErrnoException) => reject(connectError(this.ep.url, e)));
      req.end(data);
    });
  }

  private async call(p: string, method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<http.IncomingMessage> {
    const res = await this.request(p, method, body);
    if ((res.statusCode ?? 500) < 400) return res;
    const text = await readAll(res);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    const parsed = ApiErrorSchema.safeParse(answer);
    const err = parsed.success ? parsed.data.error : undefined;
    if (err && Object.hasOwn(ERRORS, err.code)) throw new CtlError(err.code as ErrorCode, err.message, err.where);
    throw new CtlError('CTL_ERR_INTERNAL', `${res.statusCode} ${res.statusMessage}`);
  }

  async get<S extends z.ZodType>(p: string, schema: S): Promise<z.output<S>> {
    const what = `GET ${p}`;
    return parseResponse(schema, parseJson(await readAll(await this.call(p, 'GET')), what), 'response', what);
  }

  async post<S extends z.ZodType>(p: string, body: unknown, schema: S): Promise<z.output<S>> {
    const what = `POST ${p}`;
    return parseResponse(schema, parseJson(await readAll(await this.call(p, 'POST', body)), what), 'response', what);
  }

  async delete<S extends z.ZodType>(p: string, schema: S): Promise<z.output<S>> {
    const what = `DELETE ${p}`;
    return parseResponse(schema, parseJson(await readAll(await this.call(p, 'DELETE')), what), 'response', what);
  }

  /**
   * Reads an NDJSON stream, calling back once per line (parsed with `schema`) as it arrives. A
   * connection that breaks off (the controller stopped or was killed) is CTL_ERR_CONTROLLER_LOST.
   */
  async stream<S extends z.ZodType>(p: string, schema: S, onLine: (v: z.output<S>) => void): Promise<void> {
    const what = `GET ${p}`;
    const res = await this.call(p, 'GET');
    res.setEncoding('utf8');
    let buf = '';
    let n = 0;
    const chunks = (async function* () {
      try {
        for await (const chunk of res) yield chunk as string;
      } catch (e) {
        throw new CtlError('CTL_ERR_CONTROLLER_LOST', `the connection was cut (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    })();
    for await (const chunk of chunks) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) onLine(parseResponse(schema, parseJson(line, what), `events[${n++}]`, what));
      }
    }
  }
}

/** A TLS verification failure is named as such: it is an attack or a wrong --ca, not a controller that is down. */
function connectError(url: string, e: NodeJS.ErrnoException): CtlError {
  const code = e.code ?? e.message;
  if (/CERT|SIGNATURE|ISSUER|ALTNAME/.test(code)) {
    return new CtlError('CTL_ERR_CONTROLLER_CERT', `the controller at ${url} presented a certificate that does not verify against its CA (${code}); check --ca / LVSCTL_CA`);
  }
  const hint = url.startsWith('https:') && /EPROTO|WRONG_VERSION/.test(code) ? 'is it an --insecure-http controller? use http://' : url.startsWith('http:') && code === 'ECONNRESET' ? 'a TLS controller answers on https://' : 'start one with: ctl controller start';
  return new CtlError('CTL_ERR_CONTROLLER_UNREACHABLE', `cannot reach the controller at ${url} (${code}); ${hint}`);
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let s = '';
  for await (const chunk of res) s += chunk as string;
  return s;
}
