import { z } from 'zod';
import { authPaths } from './api-tokens.js';
import { SecretsFile } from './secrets-store.js';
import { findByHash, hashSecret, newSecret } from './token-hash.js';

const session = z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), subject: z.string(), createdAt: z.string(), expiresAt: z.string() });
const schema = z.object({ version: z.literal(1), sessions: z.array(session) });

export const SESSION_COOKIE = 'lvsctl_session';

/**
 * How the login route sets the cookie (with @fastify/cookie): never readable by scripts, never
 * sent cross-site, only over TLS. `maxAge` is in seconds.
 */
export function sessionCookieOptions(maxAgeMs: number) {
  return { httpOnly: true, sameSite: 'strict', secure: true, path: '/', maxAge: Math.floor(maxAgeMs / 1000) } as const;
}

export interface Session {
  subject: string;
  createdAt: string;
  expiresAt: string;
}

export interface SessionOptions {
  ttlMs?: number;
  clock?: () => Date;
}

/**
 * Health-page sessions: a random id in an HttpOnly cookie, only its hash on disk, so a copy of
 * the data folder does not log anyone in. Sessions survive a controller restart until they
 * expire.
 */
export class Sessions {
  readonly ttlMs: number;
  private readonly clock: () => Date;

  private constructor(
    private readonly file: SecretsFile<z.infer<typeof schema>>,
    opts: SessionOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? 8 * 3_600_000;
    this.clock = opts.clock ?? (() => new Date());
  }

  static open(dataDir: string, opts: SessionOptions = {}): Sessions {
    return new Sessions(SecretsFile.open(authPaths(dataDir).sessions, schema, () => ({ version: 1 as const, sessions: [] })), opts);
  }

  /** A new session for `subject` (the API token name that logged in); the id is returned once. */
  async create(subject: string): Promise<{ id: string } & Session> {
    const now = this.clock();
    this.prune(now);
    const id = newSecret('');
    const s: Session = { subject, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + this.ttlMs).toISOString() };
    this.file.data.sessions.push({ hash: hashSecret(id), ...s });
    await this.file.save();
    return { id, ...s };
  }

  lookup(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = findByHash(this.file.data.sessions, id);
    if (!s || Date.parse(s.expiresAt) <= this.clock().getTime()) return undefined;
    return { subject: s.subject, createdAt: s.createdAt, expiresAt: s.expiresAt };
  }

  async destroy(id: string): Promise<void> {
    const s = findByHash(this.file.data.sessions, id);
    if (!s) return;
    this.file.data.sessions = this.file.data.sessions.filter((x) => x !== s);
    await this.file.save();
  }

  /** Ends every session of a subject (its API token was revoked). */
  async destroySubject(subject: string): Promise<void> {
    this.file.data.sessions = this.file.data.sessions.filter((x) => x.subject !== subject);
    await this.file.save();
  }

  private prune(now: Date): void {
    this.file.data.sessions = this.file.data.sessions.filter((s) => Date.parse(s.expiresAt) > now.getTime());
  }
}
