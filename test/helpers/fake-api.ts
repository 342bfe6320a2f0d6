import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status?: number;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (NDJSON, or something that is not JSON at all). */
  text?: string;
}

export interface Received {
  method: string;
  url: string;
  authorization?: string;
  body: unknown;
}

/**
 * A real HTTP server on 127.0.0.1 that answers `METHOD /path` from a table, whatever the API
 * promises: for proving what the client does with answers the real controller never gives.
 */
export class FakeApi {
  readonly received: Received[] = [];
  private server?: http.Server;

  constructor(private readonly answers: Record<string, Answer | ((r: Received) => Answer)>) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        const r: Received = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: raw ? JSON.parse(raw) : undefined };
        this.received.push(r);
        const a = this.answers[`${r.method} ${r.url}`];
        const answer = typeof a === 'function' ? a(r) : (a ?? { status: 404, json: { error: { code: 'CTL_ERR_RUN_NOT_FOUND', message: `no route ${r.url}` } } });
        res.writeHead(answer.status ?? 200, { 'content-type': answer.text !== undefined ? 'application/x-ndjson' : 'application/json' });
        res.end(answer.text ?? JSON.stringify(answer.json));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
