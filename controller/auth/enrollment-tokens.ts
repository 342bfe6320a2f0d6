import { z } from 'zod';
import { CtlError } from '../../common/errors.js';
import { authPaths } from './api-tokens.js';
import { hostMatches } from './host-pattern.js';
import { SecretsFile } from './secrets-store.js';
import { findByHash, hashSecret, newSecret } from './token-hash.js';

const entry = z.object({
  id: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  hosts: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  uses: z.number().int().positive(),
  usedBy: z.array(z.object({ host: z.string(), at: z.string() })),
  revokedAt: z.string().optional(),
});
const schema = z.object({ version: z.literal(1), tokens: z.array(entry) });
type Entry = z.infer<typeof entry>;

export const ENROLL_TOKEN_PREFIX = 'lvsctl_enroll_';
/** Spent and expired tokens are kept this long so that a reuse is told apart from a typo. */
const KEEP_MS = 7 * 86_400_000;
const MAX_TTL_MS = 30 * 86_400_000;

export interface EnrollmentTokenSpec {
  /** Host pattern the token may enroll (default: any host). */
  hosts?: string;
  ttlMs?: number;
  uses?: number;
}

export interface EnrollmentTokenView {
  id: string;
  hosts: string;
  createdAt: string;
  expiresAt: string;
  uses: number;
  usedBy: { host: string; at: string }[];
  state: 'valid' | 'spent' | 'expired' | 'revoked';
}

export type ConsumeResult =
  | { ok: true; id: string }
  | { ok: false; refusal: 'unknown' | 'expired' | 'spent' | 'revoked' | 'host'; reason: string; id?: string };

/**
 * One-time enrollment tokens (`ctl agents token --hosts PATTERN --ttl 1h --uses 1`). The token is
 * shown once; only its hash, its pattern, expiry and who used it are kept. Each refusal says why,
 * for the log line; the reason never contains the token.
 */
export class EnrollmentTokens {
  private constructor(
    private readonly file: SecretsFile<z.infer<typeof schema>>,
    private readonly clock: () => Date,
  ) {}

  static open(dataDir: string, clock: () => Date = () => new Date()): EnrollmentTokens {
    return new EnrollmentTokens(SecretsFile.open(authPaths(dataDir).enrollmentTokens, schema, () => ({ version: 1 as const, tokens: [] })), clock);
  }

  async create(spec: EnrollmentTokenSpec = {}): Promise<{ token: string; id: string; hosts: string; expiresAt: string; uses: number }> {
    const hosts = spec.hosts?.trim() || 'all';
    const ttlMs = spec.ttlMs ?? 3_600_000;
    const uses = spec.uses ?? 1;
    hostMatches(hosts, 'probe');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) throw new CtlError('CTL_ERR_USAGE', 'an enrollment token lives from 1 s to 30 days (--ttl)', { field: 'ttl' });
    if (!Number.isInteger(uses) || uses < 1 || uses > 10_000) throw new CtlError('CTL_ERR_USAGE', '--uses must be a whole number from 1 to 10000', { field: 'uses' });
    const now = this.clock();
    const token = newSecret(ENROLL_TOKEN_PREFIX);
    const id = hashSecret(token).slice(0, 8);
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    this.prune(now);
    this.file.data.tokens.push({ id, hash: hashSecret(token), hosts, createdAt: now.toISOString(), expiresAt, uses, usedBy: [] });
    await this.file.save();
    return { token, id, hosts, expiresAt, uses };
  }

  /**
   * Spends one use of a token for `host`. The use is taken before the write is awaited, so two
   * agents racing with a single-use token cannot both pass.
   */
  async consume(token: string, host: string): Promise<ConsumeResult> {
    const now = this.clock();
    const e = findByHash(this.file.data.tokens, token);
    if (!e) return { ok: false, refusal: 'unknown', reason: 'enrollment token is not known (mistyped, or removed after expiry)' };
    const state = this.state(e, now);
    if (state === 'revoked') return { ok: false, refusal: 'revoked', reason: `enrollment token ${e.id} was revoked`, id: e.id };
    if (state === 'expired') return { ok: false, refusal: 'expired', reason: `enrollment token ${e.id} expired at ${e.expiresAt}`, id: e.id };
    if (state === 'spent') {
      const by = e.usedBy.map((u) => `${u.host} at ${u.at}`).join(', ');
      return { ok: false, refusal: 'spent', reason: `enrollment token ${e.id} was already used (by ${by})`, id: e.id };
    }
    if (!hostMatches(e.hosts, host)) return { ok: false, refusal: 'host', reason: `enrollment token ${e.id} is for hosts '${e.hosts}', not '${host}'`, id: e.id };
    e.usedBy.push({ host, at: now.toISOString() });
    await this.file.save();
    return { ok: true, id: e.id };
  }

  async revoke(id: string): Promise<void> {
    const e = this.file.data.tokens.find((t) => t.id === id);
    if (!e) throw new CtlError('CTL_ERR_TOKEN_NOT_FOUND', `no enrollment token '${id}'`, { field: 'id' });
    e.revokedAt ??= this.clock().toISOString();
    await this.file.save();
  }

  list(): EnrollmentTokenView[] {
    const now = this.clock();
    return this.file.data.tokens.map((e) => ({
      id: e.id,
      hosts: e.hosts,
      createdAt: e.createdAt,
      expiresAt: e.expiresAt,
      uses: e.uses,
      usedBy: [...e.usedBy],
      state: this.state(e, now),
    }));
  }

  private state(e: Entry, now: Date): EnrollmentTokenView['state'] {
    if (e.revokedAt) return 'revoked';
    if (e.usedBy.length >= e.uses) return 'spent';
    if (now.getTime() >= Date.parse(e.expiresAt)) return 'expired';
    return 'valid';
  }

  private prune(now: Date): void {
    this.file.data.tokens = this.file.data.tokens.filter((t) => now.getTime() - Date.parse(t.expiresAt) < KEEP_MS);
  }
}
