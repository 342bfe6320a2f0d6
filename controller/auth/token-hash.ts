import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets handed out once (API tokens, enrollment tokens, session ids) are 256 random bits, so a
 * plain SHA-256 is enough to store them: nothing to brute-force, unlike a password. A prefix
 * tells the kinds apart in a log line or a leaked file (`lvsctl_api_...`).
 */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * The entry whose hash matches, comparing every entry in constant time so that neither the
 * position of a match nor a common prefix shows in the timing.
 */
export function findByHash<T extends { hash: string }>(entries: Iterable<T>, secret: string): T | undefined {
  const want = Buffer.from(hashSecret(secret), 'hex');
  let found: T | undefined;
  for (const e of entries) {
    const have = Buffer.from(e.hash, 'hex');
    if (have.length === want.length && timingSafeEqual(have, want) && !found) found = e;
  }
  return found;
}
