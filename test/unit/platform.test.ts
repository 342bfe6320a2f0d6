import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseInit, choosePkgManager, parseOsRelease, pid1Name, readOsRelease, type PackageBinary } from '../../agent/platform.js';
import type { PackageManager } from '../../common/protocol.js';

const OS = {
  debian12: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
  ubuntu22: 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n',
  mint21: 'NAME="Linux Mint"\nVERSION_ID="21.3"\nID=linuxmint\nID_LIKE="ubuntu debian"\n',
  rhel7: 'NAME="Red Hat Enterprise Linux Server"\nVERSION_ID="7.9"\nID="rhel"\nID_LIKE="fedora"\n',
  rhel8: 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="8.10"\nID="rhel"\nID_LIKE="fedora"\n',
  rhel9: 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\n',
  centos7: 'NAME="CentOS Linux"\nVERSION_ID="7"\nID="centos"\nID_LIKE="rhel fedora"\n',
  rocky9: 'NAME="Rocky Linux"\nVERSION_ID="9.4"\nID="rocky"\nID_LIKE="rhel centos fedora"\n',
  alma8: 'NAME="AlmaLinux"\nVERSION_ID="8.9"\nID="almalinux"\nID_LIKE="rhel centos fedora"\n',
  fedora40: 'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\n',
  fedora21: 'NAME=Fedora\nVERSION_ID=21\nID=fedora\n',
  unknown: 'NAME="Something"\nID=something\n',
} as const;

const ALL: PackageBinary[] = ['dnf', 'yum', 'apt-get'];
const only = (...bins: PackageBinary[]) => (b: PackageBinary) => bins.includes(b);

// [os-release, binaries installed, expected]: the OS decides, the binaries only confirm.
const TABLE: [keyof typeof OS | 'rhel6', PackageBinary[], PackageManager][] = [
  ['debian12', ['apt-get'], 'apt'],
  ['debian12', ALL, 'apt'], // the lab's machine: Debian with Debian's dnf package installed
  ['debian12', ['apt-get', 'dnf'], 'apt'],
  ['ubuntu22', ['apt-get', 'yum'], 'apt'],
  ['mint21', ['apt-get', 'dnf'], 'apt'],
  ['debian12', ['dnf'], 'none'], // no apt-get: say so rather than drive a foreign tool
  ['rhel6', ['yum'], 'yum'],
  ['rhel6', ['yum', 'dnf'], 'yum'],
  ['rhel7', ['yum', 'dnf'], 'yum'],
  ['centos7', ['yum'], 'yum'],
  ['rhel8', ['dnf', 'yum'], 'dnf'],
  ['rhel9', ['dnf', 'yum'], 'dnf'],
  ['rhel9', ['dnf', 'yum', 'apt-get'], 'dnf'],
  ['rocky9', ['dnf'], 'dnf'],
  ['alma8', ['dnf', 'yum'], 'dnf'],
  ['rhel9', ['yum'], 'yum'], // a trimmed image with only the other one
  ['rhel7', ['dnf'], 'dnf'],
  ['rhel9', ['apt-get'], 'none'],
  ['fedora40', ['dnf', 'yum'], 'dnf'],
  ['fedora21', ['yum', 'dnf'], 'yum'],
  ['unknown', ['apt-get'], 'apt'],
  ['unknown', ['yum'], 'yum'],
  ['unknown', [], 'none'],
];

for (const [name, bins, want] of TABLE) {
  test(`package manager: ${name} with ${bins.join(', ') || 'nothing'} installed -> ${want}`, (t) => {
    const osr = name === 'rhel6' ? { id: 'rhel', idLike: [], major: 6 } : parseOsRelease(OS[name]);
    t.is(choosePkgManager(osr, only(...bins)), want);
  });
}

test('os-release: ID, ID_LIKE, major version; RHEL 6 from redhat-release', async (t) => {
  t.deepEqual(parseOsRelease(OS.rocky9), { id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], major: 9 });
  t.deepEqual(parseOsRelease(OS.fedora40), { id: 'fedora', idLike: [], major: 40 });
  t.deepEqual(parseOsRelease(OS.unknown), { id: 'something', idLike: [], major: 0 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-etc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(await readOsRelease(dir), { id: '', idLike: [], major: 0 });
  writeFileSync(path.join(dir, 'redhat-release'), 'CentOS release 6.10 (Final)\n');
  t.deepEqual(await readOsRelease(dir), { id: 'centos', idLike: [], major: 6 });
  t.is(choosePkgManager(await readOsRelease(dir), only('yum', 'dnf')), 'yum');
});

test('init system: PID 1 decides; init.d only without systemd', (t) => {
  t.is(chooseInit({ pid1: 'systemd', systemdBooted: true, initD: true }), 'systemd');
  t.is(chooseInit({ pid1: 'systemd', systemdBooted: false, initD: false }), 'systemd');
  // systemd exec'ed as /sbin/init may be named init: its runtime folder tells.
  t.is(chooseInit({ pid1: 'init', systemdBooted: true, initD: true }), 'systemd');
  t.is(chooseInit({ pid1: undefined, systemdBooted: true, initD: true }), 'systemd');
  // RHEL 6: SysV init.
  t.is(chooseInit({ pid1: 'init', systemdBooted: false, initD: true }), 'sysv');
  // The lab guest (PID 1 is a shell script) or a container: another PID 1, whatever /run holds.
  t.is(chooseInit({ pid1: 'sh', systemdBooted: true, initD: true }), 'sysv');
  t.is(chooseInit({ pid1: 'sh', systemdBooted: false, initD: false }), 'none');
});

test('PID 1 name from comm, else from the exe link', async (t) => {
  const proc = mkdtempSync(path.join(os.tmpdir(), 'lvst-proc-'));
  t.teardown(() => rmSync(proc, { recursive: true, force: true }));
  mkdirSync(path.join(proc, '1'));
  t.is(await pid1Name(proc), undefined);
  symlinkSync('/usr/lib/systemd/systemd', path.join(proc, '1/exe'));
  t.is(await pid1Name(proc), 'systemd');
  writeFileSync(path.join(proc, '1/comm'), 'init\n');
  t.is(await pid1Name(proc), 'init');
});
