import test from 'ava';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import kernelModule, { bootFile, loadState, parseBuiltin } from '../../agent/modules/kernel_module.js';
import { parseProcModules } from '../../agent/kstate/proc-modules.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import { prepare, runOne } from '../../agent/runner.js';
import { ctxFor, facts, fakeExec, fakeKernel, tempRoot } from '../helpers/fake-ctx.js';

/** Hand-written in the kernel's formats: this kernel has no /proc/modules (see the README there). */
const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/kernel_module/${p}`, import.meta.url), 'utf8');
const args = (a: Record<string, unknown>) => kernelModule.schema.parse(a);
const cmds = (calls: { file: string; args: string[] }[]) => calls.map((c) => [c.file, ...c.args].join(' '));

const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv', pkgManager: 'yum' });
const DEBIAN_SYSV = facts({ os: { ...facts().os, family: 'debian', major: 7 }, initSystem: 'sysv' });
const NOINIT = facts({ initSystem: 'none' });
const SYSTEMD_FILE = { path: '/etc/modules-load.d/ip_vs.conf', content: 'ip_vs\n', mode: '0644' };
const SYSV_FILE = { path: '/etc/sysconfig/modules/ip_vs.modules', content: '#!/bin/sh\nexec /sbin/modprobe ip_vs\n', mode: '0755' };

test('parseProcModules and parseBuiltin read the kernel formats', (t) => {
  const loaded = parseProcModules(fixture('proc-modules.txt'));
  t.deepEqual([...loaded], ['ip_vs_rr', 'ip_vs', 'nf_conntrack', 'iptable_nat', 'nf_nat', 'libcrc32c', 'vboxdrv']);
  t.deepEqual(parseProcModules(null).size, 0);
  t.deepEqual([...parseBuiltin(fixture('modules.builtin'))], ['ext4', 'bridge', 'ip_tunnel', 'veth']);
});

test('loadState uses the cached module list; - and _ are the same name', async (t) => {
  const exec = fakeExec();
  const ctx = ctxFor('/', { exec, kernel: fakeKernel(exec, { '/proc/modules': fixture('proc-modules.txt') }) });
  t.is(await loadState('ip_vs', ctx), 'loaded');
  t.is(await loadState('iptable-nat', ctx), 'loaded');
});

test('bootFile: modules-load.d on systemd and Debian, an executable sysconfig/modules script on RHEL 6', (t) => {
  t.deepEqual(bootFile(facts(), 'ip_vs'), SYSTEMD_FILE);
  t.deepEqual(bootFile(RHEL6, 'ip_vs'), SYSV_FILE);
  t.deepEqual(bootFile(DEBIAN_SYSV, 'ip_vs'), SYSTEMD_FILE, "Debian's SysV kmod script reads modules-load.d too");
  t.is(bootFile(NOINIT, 'ip_vs'), null);
});

const nothing = { content: null, mode: null };

test('plan: not loaded, no boot file -> modprobe and write the boot file', (t) => {
  const ctx = ctxFor('/');
  const p = kernelModule.plan(args({ name: 'ip_vs' }), { load: 'absent', boot: SYSTEMD_FILE, file: nothing }, ctx);
  t.deepEqual(p.changes, [{ kind: 'load' }, { kind: 'file', path: SYSTEMD_FILE.path, change: { kind: 'write', content: 'ip_vs\n', mode: 0o644 } }]);
  t.is(p.before, 'ip_vs: absent\n/etc/modules-load.d/ip_vs.conf: (absent)\n');
  t.is(p.after, 'ip_vs: loaded\n/etc/modules-load.d/ip_vs.conf: mode 0644\nip_vs\n');
});

test('plan: RHEL 6 writes the script executable, and fixes its mode when it is not', (t) => {
  const ctx = ctxFor('/', { facts: RHEL6 });
  const p = kernelModule.plan(args({ name: 'ip_vs' }), { load: 'loaded', boot: SYSV_FILE, file: nothing }, ctx);
  t.deepEqual(p.changes, [{ kind: 'file', path: SYSV_FILE.path, change: { kind: 'write', content: SYSV_FILE.content, mode: 0o755 } }]);
  const chmod = kernelModule.plan(args({ name: 'ip_vs' }), { load: 'loaded', boot: SYSV_FILE, file: { content: SYSV_FILE.content, mode: 0o644 } }, ctx);
  t.deepEqual(chmod.changes, [{ kind: 'file', path: SYSV_FILE.path, change: { kind: 'chmod', mode: 0o755 } }]);
  const done = kernelModule.plan(args({ name: 'ip_vs' }), { load: 'loaded', boot: SYSV_FILE, file: { content: SYSV_FILE.content, mode: 0o755 } }, ctx);
  t.deepEqual(done.changes, []);
});

test('plan: boot false and absent remove the boot file; absent unloads', (t) => {
  const ctx = ctxFor('/');
  const have = { content: 'ip_vs\n', mode: 0o644 };
  const remove = { kind: 'file', path: SYSTEMD_FILE.path, change: { kind: 'remove' } };
  t.deepEqual(kernelModule.plan(args({ name: 'ip_vs', boot: false }), { load: 'loaded', boot: SYSTEMD_FILE, file: have }, ctx).changes, [remove]);
  t.deepEqual(kernelModule.plan(args({ name: 'ip_vs', state: 'absent' }), { load: 'loaded', boot: SYSTEMD_FILE, file: have }, ctx).changes, [{ kind: 'unload' }, remove]);
  t.deepEqual(kernelModule.plan(args({ name: 'ip_vs', state: 'absent' }), { load: 'absent', boot: SYSTEMD_FILE, file: nothing }, ctx).changes, []);
});

test('plan: built-in modules count as loaded and cannot be unloaded', (t) => {
  const ctx = ctxFor('/');
  const p = kernelModule.plan(args({ name: 'bridge' }), { load: 'builtin', boot: SYSTEMD_FILE, file: nothing }, ctx);
  t.deepEqual(p.changes, []);
  t.regex(p.msg ?? '', /built into the kernel/);
  t.throws(() => kernelModule.plan(args({ name: 'bridge', state: 'absent' }), { load: 'builtin', boot: SYSTEMD_FILE, file: nothing }, ctx), {
    message: /bridge is built into the kernel and cannot be unloaded/,
  });
});

test('plan: no known boot mechanism fails unless boot: false', (t) => {
  const ctx = ctxFor('/', { facts: DEBIAN_SYSV });
  t.throws(() => kernelModule.plan(args({ name: 'ip_vs' }), { load: 'absent', boot: null, file: nothing }, ctx), { message: /init system 'sysv' on debian: set boot: false/ });
  t.deepEqual(kernelModule.plan(args({ name: 'ip_vs', boot: false }), { load: 'absent', boot: null, file: nothing }, ctx).changes, [{ kind: 'load' }]);
});

test('apply: modprobe, boot file under --root, caches of modules and links invalidated', async (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const exec = fakeExec({ 'ip -d -j addr show': { stdout: '[]' } });
  let procReads = 0;
  const kernel = new KernelState({ exec, readFile: async () => (procReads++, '') });
  const ctx = ctxFor(root, { exec, facts: { ...RHEL6, root }, kernel });
  await ctx.kernel.read('modules');
  await ctx.kernel.read('links');
  const a = args({ name: 'ip_vs' });
  // The real module's apply and touches through the runner, on a fixed observation.
  const absent = { ...kernelModule, read: async () => ({ load: 'absent' as const, boot: SYSV_FILE, file: nothing }) };
  await runOne(absent, a, ctx, { check: false, diff: false });
  t.deepEqual(cmds(exec.calls), ['ip -d -j addr show', 'modprobe ip_vs']);
  const script = path.join(root, SYSV_FILE.path);
  t.is(await fs.readFile(script, 'utf8'), SYSV_FILE.content);
  t.is((await fs.stat(script)).mode & 0o777, 0o755);
  await ctx.kernel.read('modules');
  await ctx.kernel.read('links');
  t.is(procReads, 2);
  t.deepEqual(cmds(exec.calls), ['ip -d -j addr show', 'modprobe ip_vs', 'ip -d -j addr show']);
  const gone = args({ name: 'ip_vs', state: 'absent' });
  await kernelModule.apply(gone, kernelModule.plan(gone, { load: 'loaded', boot: SYSV_FILE, file: { content: SYSV_FILE.content, mode: 0o755 } }, ctx).changes, ctx);
  t.deepEqual(cmds(exec.calls).slice(3), ['modprobe -r ip_vs']);
  await t.throwsAsync(fs.access(script));
});

test('apply: a failing modprobe is reported with its stderr', async (t) => {
  const exec = fakeExec({ 'modprobe ip_vs': { code: 1, stderr: 'modprobe: FATAL: Module ip_vs not found in directory /lib/modules/6.1.0' } });
  const ctx = ctxFor('/', { exec, facts: { ...facts(), initSystem: 'none' } });
  await t.throwsAsync(kernelModule.apply(args({ name: 'ip_vs', boot: false }), [{ kind: 'load' }], ctx), { message: /modprobe ip_vs: exit 1: modprobe: FATAL: Module ip_vs not found/ });
});

const modules = new Map([['kernel_module', kernelModule]]);
const invalid = (a: Record<string, unknown>) => prepare([{ name: 't', module: 'kernel_module', args: a }], modules)[0].error ?? '';

test('schema: bad arguments are refused with the field named', (t) => {
  t.regex(invalid({ name: 'ip_vs;reboot' }), /name: must be a kernel module name/);
  t.regex(invalid({ name: '-r' }), /name: /);
  t.regex(invalid({ name: '../x' }), /name: /);
  t.regex(invalid({ name: 'ip_vs', boot: 'yes' }), /boot: /);
  t.regex(invalid({ name: 'ip_vs', params: 'x=1' }), /Unrecognized key.*params/);
  t.is(invalid({ name: 'ip_vs' }), '');
});
