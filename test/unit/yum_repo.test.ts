import test from 'ava';
import { readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import yumRepo, { editRepoFile, parseRepoFile } from '../../agent/modules/yum_repo.js';
import { describeIssues } from '../../agent/validate.js';
import { ctxFor, tempRoot } from '../helpers/fake-ctx.js';

const REPO = readFileSync(new URL('../../../test/fixtures/package/rhel65.repo', import.meta.url), 'utf8');
const KEY = 'file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release';
const ctx = ctxFor('/');
const observed = (text: string | null, elsewhere: string[] = []) => ({ path: '/etc/yum.repos.d/rhel65.repo', text, elsewhere });
const args = (a: Record<string, unknown>) => yumRepo.schema.parse({ file: 'rhel65', ...a });

test('parse: sections, spaced keys and continuation lines of a real-shaped .repo', (t) => {
  const s = parseRepoFile(REPO.trimEnd().split('\n'));
  t.deepEqual(
    s.map((x) => x.id),
    ['rhel-source', 'HighAvailability', 'LoadBalancer', 'ResilientStorage'],
  );
  const lb = s[2].keys.find((k) => k.key === 'baseurl');
  t.is(lb?.value, 'http://172.25.7.250/rhel6.5/LoadBalancer');
  const rs = s[3].keys.find((k) => k.key === 'baseurl');
  t.is(rs?.value, 'http://172.25.7.250/rhel6.5/ResilientStorage http://172.25.7.251/rhel6.5/ResilientStorage');
});

test('plan: a section that already says the same thing (spaces around =, 1 for true) changes nothing', (t) => {
  const p = yumRepo.plan(
    args({ name: 'LoadBalancer', baseurl: 'http://172.25.7.250/rhel6.5/LoadBalancer', gpgcheck: true, gpgkey: KEY }),
    observed(REPO),
    ctx,
  );
  t.deepEqual(p.changes, []);
  const two = yumRepo.plan(
    args({
      name: 'ResilientStorage',
      baseurl: ['http://172.25.7.250/rhel6.5/ResilientStorage', 'http://172.25.7.251/rhel6.5/ResilientStorage'],
      gpgcheck: 0,
    }),
    observed(REPO),
    ctx,
  );
  t.deepEqual(two.changes, [], 'two baseurls on continuation lines compare equal to a list');
});

test('plan: editing one section keeps the other sections and every comment byte for byte', (t) => {
  const p = yumRepo.plan(
    args({ name: 'HighAvailability', baseurl: 'http://172.25.7.250/rhel6.5/HA', gpgcheck: true, gpgkey: KEY }),
    observed(REPO),
    ctx,
  );
  t.is(p.changes.length, 1);
  const c = p.changes[0];
  if (c.kind !== 'write') return t.fail('expected a write');
  const want = REPO.replace(
    'baseurl=http://172.25.7.250/rhel6.5/HighAvailability\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release\n',
    'baseurl=http://172.25.7.250/rhel6.5/HA\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release\nenabled=1\n',
  );
  t.not(want, REPO);
  t.is(c.text, want);
  t.true(p.before.includes('baseurl=http://172.25.7.250/rhel6.5/HighAvailability'));
  t.true(p.after.includes('baseurl=http://172.25.7.250/rhel6.5/HA\n'));
  t.false(p.after.includes('LoadBalancer'), 'the diff shows our section only');
});

test('plan: keys the task does not give are dropped from our section only; duplicates after the first are dropped', (t) => {
  const text = '[a]\nname=a\nbaseurl=http://x/a\nmetadata_expire=1d\nbaseurl=http://y/a\n\n[b]\nname=b\nbaseurl=http://x/b\nmetadata_expire=1d\n';
  const out = editRepoFile(text, 'a', new Map([['name', ['a']], ['baseurl', ['http://x/a']]]));
  t.is(out, '[a]\nname=a\nbaseurl=http://x/a\n\n[b]\nname=b\nbaseurl=http://x/b\nmetadata_expire=1d\n');
});

test('plan: a new section is appended after a blank line; options are written as given', (t) => {
  const p = yumRepo.plan(
    args({ name: 'ScalableFileSystem', baseurl: 'http://172.25.7.250/rhel6.5/ScalableFileSystem', gpgcheck: true, gpgkey: KEY, options: { priority: 1 } }),
    observed(REPO),
    ctx,
  );
  const c = p.changes[0];
  if (c?.kind !== 'write') return t.fail('expected a write');
  t.is(
    c.text,
    REPO +
      '\n[ScalableFileSystem]\nname=ScalableFileSystem\nbaseurl=http://172.25.7.250/rhel6.5/ScalableFileSystem\nenabled=1\ngpgcheck=1\n' +
      `gpgkey=${KEY}\npriority=1\n`,
  );
  t.regex(p.before, /\[ScalableFileSystem\] \(absent\)/);
});

test('plan: absent removes our section, keeps the comment above the next one, and leaves one blank line', (t) => {
  const p = yumRepo.plan(args({ name: 'rhel-source', state: 'absent' }), observed(REPO), ctx);
  const c = p.changes[0];
  if (c?.kind !== 'write') return t.fail('expected a write');
  t.false(c.text.includes('[rhel-source]'));
  t.true(c.text.startsWith('# Lab mirror of the RHEL 6.5 DVD; channels as on the install media.\n\n# High availability add-on'));
  t.true(c.text.includes('[HighAvailability]') && c.text.includes('[ResilientStorage]'));
  t.regex(p.after, /\[rhel-source\] \(absent\)/);
});

test('plan: removing the last section removes the file; absent when not there is no change', (t) => {
  const only = '# one repo\n[lab]\nname=lab\nbaseurl=http://172.25.7.250/rhel6.5\n';
  t.deepEqual(yumRepo.plan(args({ name: 'lab', state: 'absent' }), observed(only), ctx).changes, [{ kind: 'remove' }]);
  t.deepEqual(yumRepo.plan(args({ name: 'lab', state: 'absent' }), observed(null), ctx).changes, []);
  t.deepEqual(yumRepo.plan(args({ name: 'other', state: 'absent' }), observed(only), ctx).changes, [], 'a section of another id is not ours');
  t.deepEqual(yumRepo.plan(args({ name: 'x', state: 'absent' }), observed('# comments only\n'), ctx).changes, []);
});

test('plan: a file without a final newline is not rewritten just for that', (t) => {
  const text = '[lab]\nname=lab\nbaseurl=http://172.25.7.250/rhel6.5\nenabled=1';
  t.deepEqual(yumRepo.plan(args({ name: 'lab', baseurl: 'http://172.25.7.250/rhel6.5' }), observed(text), ctx).changes, []);
});

test('read: the file defaults to <name>.repo and the same id in other files is reported, not touched', async (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const dir = path.join(root, 'etc/yum.repos.d');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'rhel65.repo'), REPO);
  const a = yumRepo.schema.parse({ name: 'LoadBalancer', baseurl: 'http://172.25.7.250/rhel6.5/LoadBalancer' });
  const cur = await yumRepo.read(a, ctxFor(root));
  t.is(cur.path, path.join(dir, 'LoadBalancer.repo'));
  t.is(cur.text, null);
  t.deepEqual(cur.elsewhere, ['rhel65.repo']);
  const p = yumRepo.plan(a, cur, ctxFor(root));
  t.regex(p.msg ?? '', /also defined in rhel65\.repo/);
  t.is(yumRepo.schema.parse({ name: 'x', file: 'lab.repo', baseurl: 'http://a/' }).file, 'lab.repo');
});

test('schema: bad names, URLs, states and unknown keys fail with the field named', (t) => {
  const bad = (a: Record<string, unknown>, field: string) => {
    const r = yumRepo.schema.safeParse(a);
    t.false(r.success, JSON.stringify(a));
    if (!r.success) t.regex(describeIssues(r.error), new RegExp(`^${field}:|; ${field}:`), JSON.stringify(a));
  };
  const url = 'http://172.25.7.250/rhel6.5';
  bad({ name: 'a;rm -rf /', baseurl: url }, 'name');
  bad({ name: '-x', baseurl: url }, 'name');
  bad({ name: 'a', baseurl: 'http://x/a b' }, 'baseurl');
  bad({ name: 'a', baseurl: '/srv/repo' }, 'baseurl');
  bad({ name: 'a', baseurl: url, state: 'enabled' }, 'state');
  bad({ name: 'a', baseurl: url, mirror: 'x' }, '\\(args\\)');
  bad({ name: 'a' }, 'baseurl');
  bad({ name: 'a', baseurl: url, file: '../x' }, 'file');
  bad({ name: 'a', baseurl: url, description: 'two\nlines' }, 'description');
  bad({ name: 'a', baseurl: url, options: { baseurl: 'http://y/' } }, 'options');
  bad({ name: 'a', baseurl: url, options: { 'Bad-Key': 1 } }, 'options.Bad-Key');
  const unknown = yumRepo.schema.safeParse({ name: 'a', baseurl: url, mirror: 'x' });
  t.regex(unknown.success ? '' : describeIssues(unknown.error), /mirror/, 'an unknown key is named');
  t.true(yumRepo.schema.safeParse({ name: 'a', options: { mirrorlist: 'http://m/list' } }).success);
  t.true(yumRepo.schema.safeParse({ name: 'a', state: 'absent' }).success);
});
