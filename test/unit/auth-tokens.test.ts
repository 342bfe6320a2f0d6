import test from 'ava';
import { writeFileSync } from 'node:fs';
import { CtlError } from '../../common/errors.js';
import { ApiTokens, authPaths } from '../../controller/auth/api-tokens.js';
import { EnrollmentTokens } from '../../controller/auth/enrollment-tokens.js';
import { hostMatches } from '../../controller/auth/host-pattern.js';
import { Sessions, sessionCookieOptions } from '../../controller/auth/sessions.js';
import { anyFileContains, modes, tempDir } from '../helpers/pki.js';

function clockAt(start: number) {
  let now = start;
  const clock = () => new Date(now);
  return Object.assign(clock, { advance: (ms: number) => void (now += ms) });
}

test('API tokens: named, shown once, stored hashed, revocable, checked from the Authorization header only', async (t) => {
  const d = tempDir('lvst-auth-');
  t.teardown(d.cleanup);
  const tokens = ApiTokens.open(d.dir);
  const ci = await tokens.create('ci');
  const ops = await tokens.create('ops');
  t.regex(ci, /^lvsctl_api_[A-Za-z0-9_-]{43}$/);
  t.not(ci, ops);
  await t.throwsAsync(tokens.create('ci'), { instanceOf: CtlError, message: /exists/ });
  await t.throwsAsync(tokens.create('a b'), { instanceOf: CtlError });

  const reopened = ApiTokens.open(d.dir);
  t.deepEqual(reopened.verifyBearer(`Bearer ${ci}`), { ok: true, name: 'ci' });
  t.deepEqual(reopened.verifyBearer(`Bearer ${ops}`), { ok: true, name: 'ops' });
  t.deepEqual(reopened.verifyBearer(undefined), { ok: false, reason: 'missing' });
  t.deepEqual(reopened.verifyBearer(ci), { ok: false, reason: 'malformed' });
  t.deepEqual(reopened.verifyBearer(`Bearer ${ci.slice(0, -1)}x`), { ok: false, reason: 'unknown' });
  t.deepEqual(reopened.verifyBearer(`Bearer ${ci}\nX-Other: 1`), { ok: false, reason: 'malformed' });
  t.deepEqual(reopened.list().map((x) => x.name), ['ci', 'ops']);
  t.false(anyFileContains(d.dir, ci) || anyFileContains(d.dir, ops), 'no token in any file');
  t.is(modes(d.dir)['auth/api-tokens.json'], 0o600);

  await reopened.revoke('ci');
  t.deepEqual(ApiTokens.open(d.dir).verifyBearer(`Bearer ${ci}`), { ok: false, reason: 'unknown' });
  t.deepEqual(ApiTokens.open(d.dir).verifyBearer(`Bearer ${ops}`), { ok: true, name: 'ops' });
  const e = await t.throwsAsync(reopened.revoke('ci'), { instanceOf: CtlError });
  t.is(e.code, 'CTL_ERR_TOKEN_NOT_FOUND');
});

test('a damaged secrets file is refused with its name, never reset', async (t) => {
  const d = tempDir('lvst-auth-');
  t.teardown(d.cleanup);
  await ApiTokens.open(d.dir).create('admin');
  for (const text of ['null', '[]', '{"version":1,"tokens":"oops"}', '{"version":2,"tokens":[]}', '{"version":1,"tok']) {
    writeFileSync(authPaths(d.dir).apiTokens, text, { mode: 0o644 });
    const e = t.throws(() => ApiTokens.open(d.dir), { instanceOf: CtlError }, text);
    t.is(e?.code, 'CTL_ERR_STORE');
    t.regex(e?.message ?? '', /api-tokens\.json/);
  }
  t.is(modes(d.dir)['auth/api-tokens.json'], 0o600, 'a widened mode is tightened on open');
});

test('host patterns of enrollment tokens: names, globs, ranges, lists, regex and exclusions', (t) => {
  t.true(hostMatches('server2', 'server2'));
  t.false(hostMatches('server2', 'server22'));
  t.true(hostMatches('server*', 'server22'));
  t.true(hostMatches('server[2:4]', 'server3'));
  t.false(hostMatches('server[2:4]', 'server5'));
  t.true(hostMatches('web1,db1', 'db1'));
  t.true(hostMatches('~lb-(east|west)', 'lb-west2'));
  t.false(hostMatches('all:!server2', 'server2'));
  t.true(hostMatches('all', 'anything'));
  t.throws(() => hostMatches('~(', 'x'), { instanceOf: CtlError });
});

test('enrollment tokens: one use, expiry, host pattern; each refusal says why and the token is never stored', async (t) => {
  const d = tempDir('lvst-auth-');
  t.teardown(d.cleanup);
  const clock = clockAt(Date.parse('2025-01-01T00:00:00Z'));
  const tokens = EnrollmentTokens.open(d.dir, clock);
  const once = await tokens.create({ hosts: 'server[2:4]', ttlMs: 3_600_000 });
  t.regex(once.token, /^lvsctl_enroll_/);
  t.is(once.expiresAt, '2025-01-01T01:00:00.000Z');
  t.false(anyFileContains(d.dir, once.token));

  t.like(await tokens.consume(once.token, 'server9'), { ok: false, refusal: 'host', reason: `enrollment token ${once.id} is for hosts 'server[2:4]', not 'server9'` });
  t.deepEqual(await tokens.consume(once.token, 'server3'), { ok: true, id: once.id });
  const reuse = await EnrollmentTokens.open(d.dir, clock).consume(once.token, 'server4');
  t.like(reuse, { ok: false, refusal: 'spent' });
  t.regex((reuse as { reason: string }).reason, /already used \(by server3 at 2025-01-01T00:00:00.000Z\)/);

  const short = await tokens.create({ ttlMs: 60_000, uses: 2 });
  clock.advance(61_000);
  t.like(await tokens.consume(short.token, 'server2'), { ok: false, refusal: 'expired' });
  t.like(await tokens.consume('lvsctl_enroll_made-up', 'server2'), { ok: false, refusal: 'unknown' });

  const two = await tokens.create({ uses: 2 });
  t.true((await tokens.consume(two.token, 'a')).ok);
  t.true((await tokens.consume(two.token, 'b')).ok);
  t.false((await tokens.consume(two.token, 'c')).ok);

  const revoked = await tokens.create();
  await tokens.revoke(revoked.id);
  t.like(await tokens.consume(revoked.token, 'x'), { ok: false, refusal: 'revoked' });
  t.deepEqual(
    tokens.list().map((x) => [x.id, x.state]),
    [
      [once.id, 'spent'],
      [short.id, 'expired'],
      [two.id, 'spent'],
      [revoked.id, 'revoked'],
    ],
  );
  for (const r of [JSON.stringify(tokens.list())]) t.false(r.includes('lvsctl_enroll_'), 'listing shows ids, not tokens');

  await t.throwsAsync(tokens.create({ ttlMs: 0 }), { instanceOf: CtlError });
  await t.throwsAsync(tokens.create({ uses: 0 }), { instanceOf: CtlError });
  await t.throwsAsync(tokens.create({ hosts: '~(' }), { instanceOf: CtlError });
});

test('a single-use token consumed by two racing agents lets one through', async (t) => {
  const d = tempDir('lvst-auth-');
  t.teardown(d.cleanup);
  const tokens = EnrollmentTokens.open(d.dir);
  const { token } = await tokens.create();
  const results = await Promise.all(['a', 'b', 'c'].map((h) => tokens.consume(token, h)));
  t.is(results.filter((r) => r.ok).length, 1);
});

test('sessions: random ids, stored hashed, expire, survive a restart, can be destroyed', async (t) => {
  const d = tempDir('lvst-auth-');
  t.teardown(d.cleanup);
  const clock = clockAt(Date.parse('2025-01-01T00:00:00Z'));
  const sessions = Sessions.open(d.dir, { ttlMs: 3_600_000, clock });
  const a = await sessions.create('admin');
  const b = await sessions.create('ops');
  t.not(a.id, b.id);
  t.regex(a.id, /^[A-Za-z0-9_-]{43}$/);
  t.false(anyFileContains(d.dir, a.id));
  const again = Sessions.open(d.dir, { ttlMs: 3_600_000, clock });
  t.like(again.lookup(a.id), { subject: 'admin', expiresAt: '2025-01-01T01:00:00.000Z' });
  t.is(again.lookup(undefined), undefined);
  t.is(again.lookup('nope'), undefined);
  await again.destroy(a.id);
  t.is(again.lookup(a.id), undefined);
  t.like(again.lookup(b.id), { subject: 'ops' });
  clock.advance(3_600_001);
  t.is(again.lookup(b.id), undefined, 'expired');
  t.deepEqual(sessionCookieOptions(3_600_000), { httpOnly: true, sameSite: 'strict', secure: true, path: '/', maxAge: 3600 });
});
