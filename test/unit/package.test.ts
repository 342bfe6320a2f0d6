import test from 'ava';
import { readFileSync } from 'node:fs';
import type { Exec, ExecOptions, ExecResult } from '../../common/exec.js';
import pkg from '../../agent/modules/package.js';
import { parseRpmQuery, RPM_QUERY_FORMAT } from '../../agent/providers/package-rpm.js';
import { DPKG_QUERY_FORMAT, parseDpkgQuery } from '../../agent/providers/package-apt.js';
import { runOne } from '../../agent/runner.js';
import { describeIssues } from '../../agent/validate.js';
import { ctxFor, facts } from '../helpers/fake-ctx.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/package/${f}`, import.meta.url), 'utf8');

const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv', pkgManager: 'yum' });
const RHEL9 = facts();
const DEBIAN = facts({ os: { ...facts().os, distro: 'Debian GNU/Linux', release: '12', major: 12, family: 'debian' }, initSystem: 'sysv', pkgManager: 'apt' });

interface Call {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Answers each call with the next scripted result for its program; records argv and env. */
function scripted(answers: Record<string, Partial<ExecResult>[]>): Exec & { calls: Call[] } {
  const calls: Call[] = [];
  const fn = (async (file: string, args: readonly string[], opts?: ExecOptions) => {
    calls.push({ file, args: [...args], ...(opts?.env ? { env: opts.env } : {}) });
    const next = answers[file]?.shift() ?? {};
    return { code: 0, stdout: '', stderr: '', ms: 0, ...next };
  }) as Exec & { calls: Call[] };
  fn.calls = calls;
  return fn;
}

test('rpm -q: captured output with installed and missing names, exit = count of missing', (t) => {
  const s = parseRpmQuery(['httpd', 'mod_ssl', 'ipvsadm', 'keepalived'], fixture('rpm-q-mixed.txt'), 2);
  t.deepEqual([...s], [
    ['httpd', '2.2.15-29.el6_4.noarch'],
    ['mod_ssl', null],
    ['ipvsadm', '1.26-2.el6.noarch'],
    ['keepalived', null],
  ]);
  const none = parseRpmQuery(['keepalived', 'piranha'], fixture('rpm-q-none.txt'), 2);
  t.deepEqual([...none.values()], [null, null]);
  t.throws(() => parseRpmQuery(['httpd'], '', 1, 'error: rpmdb: BDB0113 Thread/process failed'), { message: /rpmdb/ });
});

test('dpkg-query: installed, removed-with-conffiles and unknown names; :arch names match', (t) => {
  const s = parseDpkgQuery(['lvst-dummy-conf', 'bash', 'nonexist-zz'], fixture('dpkg-query-mixed.txt'), 1, fixture('dpkg-query-mixed.stderr.txt'));
  t.deepEqual([...s], [
    ['lvst-dummy-conf', null],
    ['bash', '5.2.15-2+b8'],
    ['nonexist-zz', null],
  ]);
  const multi = parseDpkgQuery(['libc6', 'libc6:amd64', 'libc6:i386'], fixture('dpkg-query-installed.txt'), 0);
  t.is(multi.get('libc6'), '2.36-9+deb12u14');
  t.is(multi.get('libc6:amd64'), '2.36-9+deb12u14');
  t.is(multi.get('libc6:i386'), null);
  t.throws(() => parseDpkgQuery(['x'], '', 2, 'dpkg-query: error: parsing file'), { message: /exit 2/ });
});

test('plan: only the missing names are installed, in one batch; the diff lists each name', (t) => {
  const args = pkg.schema.parse({ names: ['httpd', 'mod_ssl', 'ipvsadm', 'keepalived'] });
  const state = parseRpmQuery(args.names!, fixture('rpm-q-mixed.txt'), 2);
  const p = pkg.plan(args, { provider: 'yum', state }, ctxFor('/'));
  t.deepEqual(p.changes, [{ kind: 'install', provider: 'yum', names: ['mod_ssl', 'keepalived'] }]);
  t.is(p.before, 'httpd: 2.2.15-29.el6_4.noarch\nmod_ssl: (not installed)\nipvsadm: 1.26-2.el6.noarch\nkeepalived: (not installed)\n');
  t.is(p.after, 'httpd: 2.2.15-29.el6_4.noarch\nmod_ssl: (installed)\nipvsadm: 1.26-2.el6.noarch\nkeepalived: (installed)\n');
  const two = new Map([...state].filter(([n]) => n === 'httpd' || n === 'mod_ssl'));
  const gone = pkg.plan(pkg.schema.parse({ names: ['httpd', 'mod_ssl'], state: 'absent' }), { provider: 'dnf', state: two }, ctxFor('/'));
  t.deepEqual(gone.changes, [{ kind: 'remove', provider: 'dnf', names: ['httpd'] }]);
  t.deepEqual(pkg.plan(pkg.schema.parse({ name: 'httpd' }), { provider: 'yum', state: new Map([['httpd', '2.2.15']]) }, ctxFor('/')).changes, []);
});

test('RHEL 6 (yum): rpm -q to read, yum -y install to apply, rpm -q again to verify', async (t) => {
  const exec = scripted({
    rpm: [
      { code: 2, stdout: fixture('rpm-q-mixed.txt') },
      { code: 0, stdout: 'mod_ssl\t2.2.15-29.el6_4.x86_64\nkeepalived\t1.2.7-3.el6.x86_64\n' },
    ],
  });
  const ctx = ctxFor('/', { exec, facts: RHEL6 });
  const args = pkg.schema.parse({ names: ['httpd', 'mod_ssl', 'ipvsadm', 'keepalived'] });
  t.true((await runOne(pkg, args, ctx, { check: false, diff: true })).changed);
  t.deepEqual(
    exec.calls.map((c) => [c.file, ...c.args]),
    [
      ['rpm', '-q', '--qf', RPM_QUERY_FORMAT, 'httpd', 'mod_ssl', 'ipvsadm', 'keepalived'],
      ['yum', '-y', 'install', 'mod_ssl', 'keepalived'],
      ['rpm', '-q', '--qf', RPM_QUERY_FORMAT, 'mod_ssl', 'keepalived'],
    ],
  );
  t.is(exec.calls[0].env?.LC_ALL, 'C', 'rpm messages are parsed, so they must not be translated');
});

test('RHEL 9 (dnf) remove; Debian (apt) install with DEBIAN_FRONTEND and no recommends', async (t) => {
  const dnf = scripted({ rpm: [{ code: 0, stdout: 'httpd\t2.4.57-5.el9.x86_64\n' }, { code: 1, stdout: 'package httpd is not installed\n' }] });
  await runOne(pkg, pkg.schema.parse({ name: 'httpd', state: 'absent' }), ctxFor('/', { exec: dnf, facts: RHEL9 }), { check: false, diff: false });
  t.deepEqual(dnf.calls[1], { file: 'dnf', args: ['-y', 'remove', 'httpd'], env: dnf.calls[1].env });

  const apt = scripted({
    'dpkg-query': [
      { code: 1, stdout: '', stderr: 'dpkg-query: no packages found matching ipvsadm\n' },
      { code: 0, stdout: 'ipvsadm\tinstall ok installed\t1:1.31-1+b1\n' },
    ],
  });
  const args = pkg.schema.parse({ name: 'ipvsadm', aptOptions: ['DPkg::Lock::Timeout=60'] });
  t.true((await runOne(pkg, args, ctxFor('/', { exec: apt, facts: DEBIAN }), { check: false, diff: false })).changed);
  t.deepEqual(apt.calls[0].args, ['-W', '-f', DPKG_QUERY_FORMAT, 'ipvsadm']);
  t.is(apt.calls[1].file, 'apt-get');
  t.deepEqual(apt.calls[1].args, ['-o', 'DPkg::Lock::Timeout=60', 'install', '-y', '--no-install-recommends', 'ipvsadm']);
  t.is(apt.calls[1].env?.DEBIAN_FRONTEND, 'noninteractive');
});

test('provider: the task overrides the facts; a host without a package manager is an error', async (t) => {
  const exec = scripted({ 'dpkg-query': [{ code: 0, stdout: 'bash\tinstall ok installed\t5.2\n' }] });
  const cur = await pkg.read(pkg.schema.parse({ name: 'bash', provider: 'apt' }), ctxFor('/', { exec, facts: RHEL9 }));
  t.is(cur.provider, 'apt');
  t.is(exec.calls[0].file, 'dpkg-query');
  await t.throwsAsync(pkg.read(pkg.schema.parse({ name: 'bash' }), ctxFor('/', { exec, facts: facts({ pkgManager: 'none' }) })), {
    message: /set provider/,
  });
});

test('check mode only queries', async (t) => {
  const exec = scripted({ rpm: [{ code: 1, stdout: 'package ipvsadm is not installed\n' }] });
  const r = await runOne(pkg, pkg.schema.parse({ name: 'ipvsadm' }), ctxFor('/', { exec, facts: RHEL6, check: true }), { check: true, diff: true });
  t.true(r.changed);
  t.deepEqual(exec.calls.map((c) => c.file), ['rpm']);
});

test('apply fails when yum exits 0 but a name is still not installed (yum 3 skips unknown names)', async (t) => {
  const exec = scripted({
    rpm: [
      { code: 2, stdout: 'package ipvsadm is not installed\npackage nosuchpkg is not installed\n' },
      { code: 1, stdout: 'ipvsadm\t1.26-2.el6.x86_64\npackage nosuchpkg is not installed\n' },
    ],
    yum: [{ code: 0, stdout: 'No package nosuchpkg available.\n' }],
  });
  const args = pkg.schema.parse({ names: ['ipvsadm', 'nosuchpkg'] });
  await t.throwsAsync(runOne(pkg, args, ctxFor('/', { exec, facts: RHEL6 }), { check: false, diff: false }), { message: /nosuchpkg is still not installed/ });
});

test('schema: option-like, shell and group names, bad states, unknown keys and unsafe apt options fail with the field named', (t) => {
  const bad = (a: Record<string, unknown>, field: RegExp) => {
    const r = pkg.schema.safeParse(a);
    t.false(r.success, JSON.stringify(a));
    if (!r.success) t.regex(describeIssues(r.error), field, JSON.stringify(a));
  };
  bad({ name: '-y' }, /^name:/);
  bad({ name: 'httpd; reboot' }, /^name:/);
  bad({ name: '@Load Balancer' }, /^name:/);
  bad({ names: ['httpd', '--nogpgcheck'] }, /^names\.1:/);
  bad({ names: [] }, /^names:/);
  bad({ name: 'httpd', state: 'latest' }, /^state:/);
  bad({ name: 'httpd', version: '2.2' }, /version/);
  bad({ name: 'httpd', names: ['x'] }, /^name: give name or names/);
  bad({}, /^name: give name or names/);
  bad({ name: 'x', provider: 'zypper' }, /^provider:/);
  bad({ name: 'x', aptOptions: ['DPkg::Pre-Invoke::=touch /tmp/owned'] }, /^aptOptions\.0:/);
  bad({ name: 'x', aptOptions: ['Dir::Bin::dpkg=/tmp/evil'] }, /^aptOptions\.0:/);
  t.true(pkg.schema.safeParse({ name: 'libc6:i386' }).success);
  t.true(pkg.schema.safeParse({ name: 'x', aptOptions: ['Dir::Etc::sourcelist=/tmp/l.list', 'Dir::Etc::sourceparts=-', 'APT::Get::List-Cleanup=0'] }).success);
});
