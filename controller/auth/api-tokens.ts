import path from 'node:path';
import { z } from 'zod';
import { CtlError } from '../../common/errors.js';
import { SecretsFile } from './secrets-store.js';
import { findByHash, hashSecret, newSecret } from './token-hash.js';

const entry = z.object({ name: z.string(), hash: z.string().regex(/^[0-9a-f]{64}$/), createdAt: z.string() });
const schema = z.object({ version: z.literal(1), tokens: z.array(entry) });

export const API_TOKEN_PREFIX = 'lvsctl_api_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export type BearerCheck = { ok: true; name: string } | { ok: false; reason: 'missing' | 'malformed' | 'unknown' };

export function authPaths(dataDir: string) {
  const dir = path.join(dataDir, 'auth');
  return {
    dir,
    apiTokens: path.join(dir, 'api-tokens.json'),
    enrollmentTokens: path.join(dir, 'enrollment-tokens.json'),
    enrollmentRequests: path.join(dir, 'enrollment-requests.json'),
    sessions: path.join(dir, 'sessions.json'),
  };
}

/**
 * Named API bearer tokens (`ctl controller token create NAME`). Only their SHA-256 is kept; the
 * token itself is returned once by `create` and cannot be shown again.
 */
export class ApiTokens {
  private constructor(
    private readonly file: SecretsFile<z.infer<typeof schema>>,
    private readonly clock: () => Date,
  ) {}

  static open(dataDir: string, clock: () => Date = () => new Date()): ApiTokens {
    return new ApiTokens(SecretsFile.open(authPaths(dataDir).apiTokens, schema, () => ({ version: 1 as const, tokens: [] })), clock);
  }

  async create(name: string): Promise<string> {
    this.file.refresh();
    if (!NAME.test(name)) throw new CtlError('CTL_ERR_USAGE', `token name '${name}' must be letters, digits, _ . - (starting with a letter or digit, at most 64)`, { field: 'name' });
    if (this.file.data.tokens.some((t) => t.name === name)) throw new CtlError('CTL_ERR_USAGE', `a token named '${name}' exists; revoke it first`, { field: 'name' });
    const token = newSecret(API_TOKEN_PREFIX);
    this.file.data.tokens.push({ name, hash: hashSecret(token), createdAt: this.clock().toISOString() });
    await this.file.save();
    return token;
  }

  async revoke(name: string): Promise<void> {
    this.file.refresh();
    const before = this.file.data.tokens.length;
    this.file.data.tokens = this.file.data.tokens.filter((t) => t.name !== name);
    if (this.file.data.tokens.length === before) throw new CtlError('CTL_ERR_TOKEN_NOT_FOUND', `no API token named '${name}'`, { field: 'name' });
    await this.file.save();
  }

  list(): { name: string; createdAt: string }[] {
    this.file.refresh();
    return this.file.data.tokens.map(({ name, createdAt }) => ({ name, createdAt }));
  }

  /** The token's name, or undefined when no token matches. */
  verify(token: string): string | undefined {
    this.file.refresh();
    return findByHash(this.file.data.tokens, token)?.name;
  }

  /** An `Authorization` header: `Bearer TOKEN`, nothing else (tokens never travel in URLs). */
  verifyBearer(header: string | undefined): BearerCheck {
    if (!header) return { ok: false, reason: 'missing' };
    const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header);
    if (!m) return { ok: false, reason: 'malformed' };
    const name = this.verify(m[1]!);
    return name ? { ok: true, name } : { ok: false, reason: 'unknown' };
  }
}
