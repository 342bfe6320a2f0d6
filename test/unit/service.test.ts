import test from 'ava';
import { readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import service, { planService, readService } from '../../agent/modules/service.js';
import { parseIsActive, parseIsEnabled } from '../../agent/providers/service-systemd.js';
import { chkconfigHeader, parseChkconfigList, parseLsbStatus, rcLinkEdit } from '../../agent/providers/service-sysv.js';
import type { ServiceObserved } from '../../agent/providers/service-provider.js';
import { runOne } from '../../agent/runner.js';
import { describeIssues } from '../../agent/validate.js';
import { ctxFor, facts, fakeExec, tempRoot } from '../helpers/fake-ctx.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/service/${f}`, import.meta.url), 'utf8');
type Out = { code: number; stdout: string; stderr: string };
const SYSTEMCTL = JSON.parse(fixture('systemctl-outputs.json')) as Record<'is-enabled' | 'is-active', Record<string, Out>>;
const enabledOut = (k: string) => SYSTEMCTL['is-enabled'][k];
const activeOut = (k: string) => SYSTEMCTL['is-active'][k];
const list = (f: string): Out => ({ code: 0, stdout: fixture(f), stderr: '' });

const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv', pkgManager: 'yum' });
const RHEL9 = facts();

test('systemctl is-enabled / is-active outputs', (t) => {
  t.deepEqual(parseIsEnabled(enabledOut('enabled')), { exists: true, enabled: 'on', text: 'enabled' });
  t.deepEqual(parseIsEnabled(enabledOut('disabled')), { exists: true, enabled: 'off', text: 'disabled' });
  t.is(parseIsEnabled(enabledOut('static')).enabled, 'fixed');
  t.is(parseIsEnabled(enabledOut('masked')).enabled, 'masked');
  t.is(parseIsEnabled(enabledOut('sysv-wrapper')).enabled, 'on');
  t.false(parseIsEnabled(enabledOut('missing')).exists);
  t.false(parseIsEnabled(enabledOut('not-found')).exists);
  t.true(parseIsActive(activeOut('active')).running);
  t.false(parseIsActive(activeOut('inactive')).running);
  t.false(parseIsActive(activeOut('failed')).running);
  t.true(parseIsActive(activeOut('activating')).running, 'starting counts as running: no second start');
  t.throws(() => parseIsActive(activeOut('no-bus')), { message: /Failed to connect to bus/ });
});

test('chkconfig --list lines as RHEL 6 prints them, and LSB status codes', (t) => {
  t.deepEqual(parseChkconfigList('httpd', list('chkconfig-list-httpd-on.txt')), { on: [2, 3, 4, 5], notAdded: false });
  t.deepEqual(parseChkconfigList('iptables', list('chkconfig-list-iptables-off.txt')).on, []);
  t.deepEqual(parseChkconfigList('ipvsadm', list('chkconfig-list-ipvsadm-mixed.txt')).on, [3, 5]);
  t.deepEqual(parseChkconfigList('NetworkManager', list('chkconfig-list-long-name.txt')).on, [2, 3, 4, 5]);
  t.deepEqual(parseChkconfigList('lvs-web', { code: 1, stdout: '', stderr: fixture('chkconfig-list-not-added.stderr.txt') }), { on: [], notAdded: true });
  t.throws(() => parseChkconfigList('nosuch', { code: 1, stdout: '', stderr: 'error reading information on service nosuch: No such file or directory\n' }), {
    message: /No such file/,
  });
  t.true(parseLsbStatus('httpd', { code: 0, stdout: 'httpd (pid  1234) is running...\n', stderr: '' }).running);
  t.false(parseLsbStatus('httpd', { code: 3, stdout: 'httpd is stopped\n', stderr: '' }).running);
  t.deepEqual(parseLsbStatus('httpd', { code: 1, stdout: 'httpd dead but pid file exists\n', stderr: '' }), {
    running: false,
    text: 'dead but pid file exists (status 1)',
  });
  t.false(parseLsbStatus('httpd', { code: 2, stdout: 'httpd dead but subsys locked\n', stderr: '' }).running);
  t.throws(() => parseLsbStatus('httpd', { code: 4, stdout: 'httpd status is unknown\n', stderr: '' }), { message: /status exited 4/ });
});

test('chkconfig header and the rc links chkconfig would leave', (t) => {
  t.deepEqual(chkconfigHeader(fixture('init-httpd-rhel6.sh')), { start: 85, stop: 15 });
  t.deepEqual(chkconfigHeader('#!/bin/sh\n# chkconfig: 2345 08 92\n'), { start: 8, stop: 92 });
  t.deepEqual(chkconfigHeader('#!/bin/sh\necho no header\n'), { start: 50, stop: 50 });
  const rc = { links: [], start: 85, stop: 15, target: '../init.d/httpd' };
  const on = rcLinkEdit(rc, 'httpd', true);
  t.deepEqual(
    on.add.map((l) => `${l.level}/${l.name}`),
    ['0/K15httpd', '1/K15httpd', '2/S85httpd', '3/S85httpd', '4/S85httpd', '5/S85httpd', '6/K15httpd'],
  );
  const off = rcLinkEdit({ ...rc, links: on.add }, 'httpd', false);
  t.deepEqual(off.remove.map((l) => `${l.level}/${l.name}`), ['2/S85httpd', '3/S85httpd', '4/S85httpd', '5/S85httpd']);
  t.deepEqual(off.add.map((l) => `${l.level}/${l.name}`), ['2/K15httpd', '3/K15httpd', '4/K15httpd', '5/K15httpd']);
  t.deepEqual(rcLinkEdit(rc, 'ipvsadm', true).add[2], { level: 2, name: 'S85ipvsadm' });
});

test('systemd (RHEL 9): reads both states in two calls, starts and enables with argument arrays', async (t) => {
  const exec = fakeExec({ 'systemctl is-enabled httpd': enabledOut('disabled'), 'systemctl is-active httpd': activeOut('inactive') });
  const ctx = ctxFor('/', { exec, facts: RHEL9 });
  const args = service.schema.parse({ name: 'httpd', state: 'running', enabled: true });
  const r = await runOne(service, args, ctx, { check: false, diff: true });
  t.true(r.changed);
  t.is(r.plan.before, 'httpd: inactive\nhttpd at boot: disabled\n');
  t.is(r.plan.after, 'httpd: running\nhttpd at boot: enabled\n');
  t.deepEqual(
    exec.calls.map((c) => [c.file, ...c.args]),
    [
      ['systemctl', 'is-enabled', 'httpd'],
      ['systemctl', 'is-active', 'httpd'],
      ['systemctl', 'start', 'httpd'],
      ['systemctl', 'enable', 'httpd'],
    ],
  );
});

test('systemd: converged -> no change; enabled only -> one call; static and masked units', async (t) => {
  const exec = fakeExec({ 'systemctl is-enabled sshd': enabledOut('enabled'), 'systemctl is-active sshd': activeOut('active') });
  const ctx = ctxFor('/', { exec, facts: RHEL9 });
  t.false((await runOne(service, service.schema.parse({ name: 'sshd', state: 'running', enabled: true }), ctx, { check: false, diff: false })).changed);
  exec.calls.length = 0;
  await runOne(service, service.schema.parse({ name: 'sshd', enabled: true }), ctx, { check: false, diff: false });
  t.deepEqual(exec.calls.map((c) => c.args[0]), ['is-enabled']);

  const st: ServiceObserved = { provider: 'systemd', name: 'dbus', exists: true, enabled: 'fixed', enabledText: 'static' };
  const p = planService({ name: 'dbus', enabled: false }, st);
  t.deepEqual(p.changes, []);
  t.regex(p.msg ?? '', /static: enable\/disable does not apply/);
  const masked: ServiceObserved = { provider: 'systemd', name: 'x', exists: true, enabled: 'masked', enabledText: 'masked', running: false, runningText: 'inactive' };
  t.throws(() => planService({ name: 'x', state: 'running' }, masked), { message: /masked/ });
  t.deepEqual(planService({ name: 'x', state: 'stopped', enabled: false }, masked).changes, []);
});

test('systemd: a unit that does not exist fails the task with a clear message', async (t) => {
  const exec = fakeExec({ 'systemctl is-enabled nosuch': enabledOut('missing') });
  const ctx = ctxFor('/', { exec, facts: RHEL9 });
  await t.throwsAsync(runOne(service, service.schema.parse({ name: 'nosuch', state: 'running' }), ctx, { check: true, diff: false }), {
    message: /nosuch not found \(no such unit\)/,
  });
});

test('sysv on a real host (RHEL 6): plan from status + chkconfig, apply with service and chkconfig', async (t) => {
  const status = parseLsbStatus('httpd', { code: 3, stdout: 'httpd is stopped\n', stderr: '' });
  const lst = parseChkconfigList('httpd', { code: 1, stdout: '', stderr: fixture('chkconfig-list-not-added.stderr.txt') });
  const cur: ServiceObserved = {
    provider: 'sysv',
    name: 'httpd',
    exists: true,
    running: status.running,
    runningText: status.text,
    enabled: 'off',
    enabledText: '0:off 1:off 2:off 3:off 4:off 5:off 6:off',
    notAdded: lst.notAdded,
  };
  const p = planService({ name: 'httpd', state: 'running', enabled: true }, cur);
  t.deepEqual(p.changes, [
    { kind: 'start', provider: 'sysv', name: 'httpd' },
    { kind: 'enable', provider: 'sysv', name: 'httpd', add: true },
  ]);
  const exec = fakeExec();
  await service.apply(service.schema.parse({ name: 'httpd', state: 'running', enabled: true }), p.changes, ctxFor('/', { exec, facts: RHEL6 }));
  t.deepEqual(
    exec.calls.map((c) => [c.file, ...c.args]),
    [
      ['service', 'httpd', 'start'],
      ['chkconfig', '--add', 'httpd'],
      ['chkconfig', 'httpd', 'on'],
    ],
  );
  const mixed = parseChkconfigList('ipvsadm', list('chkconfig-list-ipvsadm-mixed.txt'));
  t.deepEqual(mixed.on, [3, 5]);
  const off = planService({ name: 'ipvsadm', enabled: false }, { provider: 'sysv', name: 'ipvsadm', exists: true, enabled: 'mixed', enabledText: '' });
  t.deepEqual(off.changes, [{ kind: 'disable', provider: 'sysv', name: 'ipvsadm' }], 'on in some runlevels is not off');
});

test('sysv under a root: the root init script is run for status and rc links are planned and made', async (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const script = path.join(root, 'etc/init.d/lvs-web');
  await fs.mkdir(path.dirname(script), { recursive: true });
  await fs.writeFile(script, '#!/bin/sh\n# chkconfig: 2345 85 15\n', { mode: 0o755 });
  await fs.mkdir(path.join(root, 'etc/rc.d/rc3.d'), { recursive: true });
  await fs.symlink('../../init.d/lvs-web', path.join(root, 'etc/rc.d/rc3.d/K15lvs-web'));
  await fs.symlink('../../init.d/other', path.join(root, 'etc/rc.d/rc3.d/S85other'));
  const exec = fakeExec({ [`${script} status`]: { code: 3, stdout: 'lvs-web is stopped\n' } });
  const ctx = ctxFor(root, { exec, facts: RHEL6 });
  const args = service.schema.parse({ name: 'lvs-web', state: 'running', enabled: true });
  const cur = await readService(args, ctx);
  t.like(cur, { provider: 'sysv', exists: true, running: false, enabled: 'off' });
  t.deepEqual(cur.rc?.links, [{ level: 3, name: 'K15lvs-web' }]);
  t.is(cur.rc?.target, '../../init.d/lvs-web');
  const p = service.plan(args, cur, ctx);
  t.regex(p.after, /- rc3\.d\/K15lvs-web/);
  t.regex(p.after, /\+ rc3\.d\/S85lvs-web -> \.\.\/\.\.\/init\.d\/lvs-web/);
  await service.apply(args, p.changes, ctx);
  t.deepEqual(exec.calls.map((c) => [c.file, ...c.args]), [[script, 'status'], [script, 'start']], 'never the host `service`');
  t.is(await fs.readlink(path.join(root, 'etc/rc.d/rc3.d/S85lvs-web')), '../../init.d/lvs-web');
  t.is(await fs.readlink(path.join(root, 'etc/rc.d/rc0.d/K15lvs-web')), '../../init.d/lvs-web');
  await t.throwsAsync(fs.lstat(path.join(root, 'etc/rc.d/rc3.d/K15lvs-web')));
  t.is(await fs.readlink(path.join(root, 'etc/rc.d/rc3.d/S85other')), '../../init.d/other', 'other services untouched');
});

test('provider: from facts, overridable; none on the host is an error naming provider', async (t) => {
  const exec = fakeExec({ 'systemctl is-enabled httpd': enabledOut('enabled') });
  const cur = await readService({ name: 'httpd', enabled: true, provider: 'systemd' }, ctxFor('/', { exec, facts: RHEL6 }));
  t.is(cur.provider, 'systemd');
  await t.throwsAsync(readService({ name: 'httpd', enabled: true }, ctxFor('/', { exec, facts: facts({ initSystem: 'none' }) })), {
    message: /set provider/,
  });
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const none = await readService({ name: 'httpd', state: 'running' }, ctxFor(root, { exec, facts: RHEL6 }));
  t.like(none, { provider: 'sysv', exists: false });
  await t.throwsAsync(readService({ name: 'httpd', state: 'running' }, ctxFor(root, { exec, facts: RHEL9 })), {
    message: /cannot manage httpd under --root/,
  });
});

test('schema: names with shell syntax, leading -, paths, bad states and unknown keys fail with the field named', (t) => {
  const bad = (a: Record<string, unknown>, field: RegExp) => {
    const r = service.schema.safeParse(a);
    t.false(r.success, JSON.stringify(a));
    if (!r.success) t.regex(describeIssues(r.error), field, JSON.stringify(a));
  };
  bad({ name: 'httpd;reboot', state: 'running' }, /^name:/);
  bad({ name: '--now', state: 'running' }, /^name:/);
  bad({ name: '../../bin/sh', state: 'running' }, /^name:/);
  bad({ name: 'httpd', state: 'restarted' }, /^state:/);
  bad({ name: 'httpd', enabled: 'yes' }, /^enabled:/);
  bad({ name: 'httpd' }, /^state: give state or enabled/);
  bad({ name: 'httpd', state: 'running', runlevels: '35' }, /runlevels/);
  bad({ name: 'httpd', state: 'running', provider: 'upstart' }, /^provider:/);
  t.true(service.schema.safeParse({ name: 'getty@tty1.service', enabled: true }).success);
});
