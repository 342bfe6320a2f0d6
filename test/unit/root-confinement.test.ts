import test from 'ava';
import { promises as fs, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RenderedTask, TaskResult } from '../../common/protocol.js';
import { confinedPath } from '../../agent/root-path.js';
import { MODULES } from '../../agent/modules/index.js';
import { runTasks } from '../../agent/runner.js';
import { ctxFor, facts, fakeExec } from '../helpers/fake-ctx.js';

/**
 * A real root folder and, beside it, a folder standing for the rest of the host. Symlinks under
 * the root lead outside; every file operation through them must fail and leave the outside as
 * it was, with its content in no result or diff.
 */
const SECRET = 'OUTSIDE-SECRET: root:x:0:0';

function setup() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'lvst-confine-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), `${SECRET}\n`, { mode: 0o640 });
  writeFileSync(path.join(outside, 'evil.sh'), '#!/bin/sh\ntouch "$0.ran"\n', { mode: 0o755 });
  symlinkSync(outside, path.join(root, 'etc/outdir'));
  symlinkSync(path.relative(path.join(root, 'etc'), outside), path.join(root, 'etc/reldir'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'etc/motd'));
  return { base, root, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

async function run(root: string, tasks: Omit<RenderedTask, 'name'>[], opts = { check: false, diff: true }, exec = fakeExec()): Promise<TaskResult[]> {
  const named = tasks.map((t, i) => ({ name: `task ${i + 1}`, ...t }));
  const results: TaskResult[] = [];
  // Each task on its own, so that one refusal does not skip the next case.
  for (const task of named) results.push(...(await runTasks([task], MODULES, ctxFor(root, { exec, check: opts.check, facts: facts({ initSystem: 'sysv', root }) }), opts, () => undefined)));
  return results;
}

async function outsideUntouched(t: import('ava').ExecutionContext, outside: string) {
  t.deepEqual((await fs.readdir(outside)).sort(), ['evil.sh', 'secret.txt']);
  t.is(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8'), `${SECRET}\n`);
  t.is((await fs.stat(path.join(outside, 'secret.txt'))).mode & 0o777, 0o640);
}

test('write and delete through a folder symlink that leads out of the root are refused', async (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  const results = await run(s.root, [
    { module: 'file', args: { path: '/etc/outdir/new.txt', content: 'planted\n' } },
    { module: 'file', args: { path: '/etc/reldir/new.txt', content: 'planted\n' } },
    { module: 'file', args: { path: '/etc/outdir/secret.txt', state: 'absent' } },
    { module: 'file', args: { path: '/etc/reldir/secret.txt', state: 'absent' } },
    { module: 'keyvalue', args: { path: '/etc/outdir/network', key: 'GATEWAY', value: '10.0.0.1' } },
    { module: 'yum_repo', args: { name: 'base', baseurl: 'http://10.0.0.1/repo', reposdir: '/etc/outdir' } },
  ]);
  // Check mode: were the refusal ever lost, apply would set this machine's own /proc/sys.
  results.push(...(await run(s.root, [{ module: 'sysctl', args: { name: 'net.ipv4.ip_forward', value: '1', file: '/etc/outdir/sysctl.conf' } }], { check: true, diff: true })));
  t.is(results.length, 7);
  for (const r of results) {
    t.is(r.status, 'failed', r.name);
    t.regex(r.msg ?? '', /^path \/etc\/(outdir|reldir)\S* escapes the agent root via symlink \/etc\/(outdir|reldir)$/, r.name);
  }
  await outsideUntouched(t, s.outside);
});

test('chmod and --diff through a file symlink that leads out are refused, and its content is in no result', async (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  const tasks = [
    { module: 'file', args: { path: '/etc/motd', mode: '0777' } },
    { module: 'file', args: { path: '/etc/motd', content: 'hello\n' } },
    { module: 'keyvalue', args: { path: '/etc/motd', key: 'A', value: '1' } },
  ];
  const applied = await run(s.root, tasks);
  const checked = await run(s.root, tasks, { check: true, diff: true });
  for (const r of [...applied, ...checked]) {
    t.is(r.status, 'failed');
    t.is(r.msg, 'path /etc/motd escapes the agent root via symlink /etc/motd');
    t.is(r.diff, undefined);
  }
  t.false(JSON.stringify([applied, checked]).includes('OUTSIDE-SECRET'));
  t.is(await fs.readlink(path.join(s.root, 'etc/motd')), path.join(s.outside, 'secret.txt'), 'the link itself is left as it was');
  await outsideUntouched(t, s.outside);
});

test('a .repo file linked out of the repos folder is neither read nor written', async (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  mkdirSync(path.join(s.root, 'etc/yum.repos.d'));
  symlinkSync(path.join(s.outside, 'secret.txt'), path.join(s.root, 'etc/yum.repos.d/other.repo'));
  symlinkSync(path.join(s.outside, 'secret.txt'), path.join(s.root, 'etc/yum.repos.d/base.repo'));
  const [r] = await run(s.root, [{ module: 'yum_repo', args: { name: 'base', baseurl: 'http://10.0.0.1/repo' } }]);
  t.is(r!.status, 'failed');
  t.regex(r!.msg ?? '', /escapes the agent root via symlink \/etc\/yum\.repos\.d\/(other|base)\.repo/);
  t.false(JSON.stringify(r).includes('OUTSIDE-SECRET'));
  await outsideUntouched(t, s.outside);
});

test('an init script linked out of the root is never run', async (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  mkdirSync(path.join(s.root, 'etc/init.d'));
  symlinkSync(path.join(s.outside, 'evil.sh'), path.join(s.root, 'etc/init.d/evil'));
  const exec = fakeExec();
  const [r] = await run(s.root, [{ module: 'service', args: { name: 'evil', state: 'running', provider: 'sysv' } }], { check: false, diff: false }, exec);
  t.is(r!.status, 'failed');
  t.is(r!.msg, 'path /etc/init.d/evil escapes the agent root via symlink /etc/init.d/evil');
  t.deepEqual(exec.calls, [], 'no command was run');
  await outsideUntouched(t, s.outside);
});

test('links that stay inside the root are followed, as on a real host', async (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  mkdirSync(path.join(s.root, 'etc/rc.d/init.d'), { recursive: true });
  symlinkSync('rc.d/init.d', path.join(s.root, 'etc/init.d'));
  symlinkSync(path.join(s.root, 'etc/rc.d'), path.join(s.root, 'etc/rcabs'));
  writeFileSync(path.join(s.root, 'etc/real.conf'), 'A=0\n', { mode: 0o600 });
  symlinkSync('real.conf', path.join(s.root, 'etc/alias.conf'));
  const results = await run(s.root, [
    { module: 'file', args: { path: '/etc/init.d/x', content: 'via a relative link\n' } },
    { module: 'file', args: { path: '/etc/rcabs/y', content: 'via an absolute link inside the root\n' } },
    { module: 'keyvalue', args: { path: '/etc/alias.conf', key: 'A', value: '1' } },
  ]);
  t.deepEqual(results.map((r) => r.status), ['changed', 'changed', 'changed'], JSON.stringify(results));
  t.is(await fs.readFile(path.join(s.root, 'etc/rc.d/init.d/x'), 'utf8'), 'via a relative link\n');
  t.is(await fs.readFile(path.join(s.root, 'etc/rc.d/y'), 'utf8'), 'via an absolute link inside the root\n');
  t.regex(results[2]!.diff?.before ?? '', /A=0/, 'read for the diff through the link');
  await outsideUntouched(t, s.outside);
});

test('paths: .. cannot climb out, missing parts stay lexical, dangling links out are refused; root / is the host itself', (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  t.is(confinedPath(s.root, '/../../etc/passwd'), path.join(s.root, 'etc/passwd'));
  t.is(confinedPath(s.root, '/var/new/dir/f'), path.join(s.root, 'var/new/dir/f'));
  symlinkSync('/nonexistent-lvst/x', path.join(s.root, 'etc/dangling'));
  t.throws(() => confinedPath(s.root, '/etc/dangling'), { message: 'path /etc/dangling escapes the agent root via symlink /etc/dangling' });
  symlinkSync('missing-inside', path.join(s.root, 'etc/dangling-in'));
  t.is(confinedPath(s.root, '/etc/dangling-in'), path.join(s.root, 'etc/dangling-in'));
  t.throws(() => confinedPath(s.root, '/etc/dangling-in/x'), { message: /dangling symlink \/etc\/dangling-in/ });
  t.is(confinedPath('/', path.join(s.root, 'etc/outdir/secret.txt')), path.join(s.root, 'etc/outdir/secret.txt'));
});

test('with root / a task writes through the host symlinks', async (t) => {
  const s = setup();
  t.teardown(s.cleanup);
  const [r] = await run('/', [{ module: 'file', args: { path: path.join(s.root, 'etc/outdir/host.txt'), content: 'ok\n' } }]);
  t.is(r!.status, 'changed');
  t.is(await fs.readFile(path.join(s.outside, 'host.txt'), 'utf8'), 'ok\n');
});
