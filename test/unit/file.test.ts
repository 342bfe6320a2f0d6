import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import file from '../../agent/modules/file.js';
import { runOne } from '../../agent/runner.js';
import { ctxFor, tempRoot } from '../helpers/fake-ctx.js';

test('plan: missing file is written with content and mode', (t) => {
  const p = file.plan({ path: '/etc/motd', state: 'file', content: 'hi\n', mode: '0600' }, { content: null, mode: null }, ctxFor('/'));
  t.deepEqual(p.changes, [{ kind: 'write', content: 'hi\n', mode: 0o600 }]);
  t.is(p.before, '(absent)\n');
  t.is(p.after, 'mode 0600\nhi\n');
});

test('plan: same content, other mode -> chmod only; same both -> nothing', (t) => {
  const ctx = ctxFor('/');
  t.deepEqual(file.plan({ path: '/x', state: 'file', content: 'a', mode: '0644' }, { content: 'a', mode: 0o600 }, ctx).changes, [{ kind: 'chmod', mode: 0o644 }]);
  t.deepEqual(file.plan({ path: '/x', state: 'file', content: 'a', mode: '0644' }, { content: 'a', mode: 0o644 }, ctx).changes, []);
  t.deepEqual(file.plan({ path: '/x', state: 'absent' }, { content: null, mode: null }, ctx).changes, []);
  t.deepEqual(file.plan({ path: '/x', state: 'absent' }, { content: 'a', mode: 0o644 }, ctx).changes, [{ kind: 'remove' }]);
});

test('schema refuses relative paths, .., bad modes and unknown keys', (t) => {
  t.false(file.schema.safeParse({ path: 'etc/motd', content: '' }).success);
  t.false(file.schema.safeParse({ path: '/etc/../shadow', content: '' }).success);
  t.false(file.schema.safeParse({ path: '/etc/motd', content: '', mode: '999' }).success);
  t.false(file.schema.safeParse({ path: '/etc/motd', content: '', owner: 'root' }).success);
  t.false(file.schema.safeParse({ path: '/etc/motd' }).success, 'state=file needs content or mode');
});

test('apply on a real root: write, converge, remove', async (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const ctx = ctxFor(root);
  const args = file.schema.parse({ path: '/var/www/html/index.html', content: 'server3\n', mode: '0644' });
  t.true((await runOne(file, args, ctx, { check: false, diff: true })).changed);
  t.is(await fs.readFile(path.join(root, 'var/www/html/index.html'), 'utf8'), 'server3\n');
  t.false((await runOne(file, args, ctx, { check: false, diff: true })).changed);
  await fs.writeFile(path.join(root, 'var/www/html/index.html'), 'tampered\n');
  t.true((await runOne(file, args, ctx, { check: true, diff: true })).changed);
  t.is(await fs.readFile(path.join(root, 'var/www/html/index.html'), 'utf8'), 'tampered\n', 'check mode changes nothing');
  const gone = file.schema.parse({ path: '/var/www/html/index.html', state: 'absent' });
  t.true((await runOne(file, gone, ctx, { check: false, diff: false })).changed);
  await t.throwsAsync(fs.stat(path.join(root, 'var/www/html/index.html')));
});
