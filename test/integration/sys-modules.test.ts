/**
 * yum_repo, service (SysV), firewall and package (apt) on real state: files under a temp root, a
 * real init script starting a real daemon, iptables in a network namespace made here, and a
 * dummy .deb from a local apt repository (no network). Each: apply (changed), apply again (ok),
 * check mode after a manual change (reported, nothing changed).
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exec, execOk } from '../../common/exec.js';
import type { HostFacts, TaskResult } from '../../common/protocol.js';
import type { AnyModule } from '../../agent/module.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import { runTasks } from '../../agent/runner.js';
import yumRepo from '../../agent/modules/yum_repo.js';
import service from '../../agent/modules/service.js';
import pkg from '../../agent/modules/package.js';
import { facts } from '../helpers/fake-ctx.js';
import { Netns, waitFor } from '../helpers/procs.js';
import { runInNetns, task, type FactsOverride } from '../helpers/netns.js';

const RHEL6: FactsOverride = { os: { release: '6.5', major: 6, family: 'redhat' }, initSystem: 'sysv', pkgManager: 'yum' };
const DEBIAN: FactsOverride = { os: { release: '12', major: 12, family: 'debian' }, initSystem: 'sysv', pkgManager: 'apt' };

const temps: string[] = [];
const pidfiles: string[] = [];
const netns = new Netns(`lvst-fw-${process.pid}`);
const DUMMY = `lvst-dummy-${process.pid}`;
let dummyInstalled = false;

function tempDir(tag: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), `lvst-${tag}-`));
  temps.push(d);
  return d;
}

function hostFacts(over: FactsOverride, root: string): HostFacts {
  const base = facts();
  return { ...base, ...over, os: { ...base.os, ...over.os }, root } as HostFacts;
}

/** One task through the agent's runner with the real exec, as an agent with --root would run it. */
async function run(m: AnyModule, args: Record<string, unknown>, root: string, over: FactsOverride, check = false): Promise<TaskResult> {
  const ctx = { root, check, exec, facts: hostFacts(over, root), kernel: new KernelState({ exec }) };
  const [r] = await runTasks([{ name: m.name, module: m.name, args }], new Map([[m.name, m]]), ctx, { check, diff: true }, () => {});
  return r;
}

test.after.always('cleanup: daemons, namespaces, temp roots, the dummy package', async () => {
  for (const f of pidfiles) {
    const pid = Number(await fs.readFile(f, 'utf8').catch(() => ''));
    if (pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  await netns.destroy();
  if (dummyInstalled) await exec('dpkg', ['--purge', DUMMY]);
  for (const d of temps) await fs.rm(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------- (a) yum_repo

test.serial('yum_repo: reference repos into one file, other sections and comments kept, converge, drift, remove', async (t) => {
  const root = tempDir('repo');
  const dir = path.join(root, 'etc/yum.repos.d');
  const file = path.join(dir, 'rhel6.5.repo');
  await fs.mkdir(dir, { recursive: true });
  const local = '# kept by hand\n[local-extras]\nname=Local extras\nbaseurl=file:///srv/extras\nenabled=0\n';
  await fs.writeFile(file, local);
  const base = 'http://172.25.7.250/rhel6.5';
  const key = 'file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release';
  const repos = ['rhel-source', 'HighAvailability', 'LoadBalancer', 'ResilientStorage', 'ScalableFileSystem'].map((name) => ({
    name,
    file: 'rhel6.5',
    baseurl: name === 'rhel-source' ? base : `${base}/${name}`,
    enabled: true,
    gpgcheck: true,
    gpgkey: key,
  }));

  for (const r of repos) t.is((await run(yumRepo, r, root, RHEL6)).status, 'changed', r.name);
  const text = await fs.readFile(file, 'utf8');
  t.true(text.startsWith(local), 'the hand-made section and its comment stay first, unchanged');
  t.true(text.includes(`[LoadBalancer]\nname=LoadBalancer\nbaseurl=${base}/LoadBalancer\nenabled=1\ngpgcheck=1\ngpgkey=${key}\n`));
  for (const r of repos) t.is((await run(yumRepo, r, root, RHEL6)).status, 'ok', `${r.name} again`);
  t.is(await fs.readFile(file, 'utf8'), text);

  const drifted = text.replace(`baseurl=${base}/LoadBalancer`, 'baseurl=http://10.0.0.1/mirror');
  await fs.writeFile(file, drifted);
  const check = await run(yumRepo, repos[2], root, RHEL6, true);
  t.is(check.status, 'changed');
  t.regex(check.diff?.before ?? '', /10\.0\.0\.1/);
  t.is(await fs.readFile(file, 'utf8'), drifted, 'check mode changes nothing');
  t.is((await run(yumRepo, repos[2], root, RHEL6)).status, 'changed');
  t.is(await fs.readFile(file, 'utf8'), text);

  for (const r of repos) t.is((await run(yumRepo, { name: r.name, file: 'rhel6.5', state: 'absent' }, root, RHEL6)).status, 'changed');
  t.is(await fs.readFile(file, 'utf8'), local);
  t.is((await run(yumRepo, { name: 'local-extras', file: 'rhel6.5', state: 'absent' }, root, RHEL6)).status, 'changed');
  t.false(existsSync(file), 'the last section gone -> the file is gone');
  t.is((await run(yumRepo, { name: 'local-extras', file: 'rhel6.5', state: 'absent' }, root, RHEL6)).status, 'ok');
});

// ---------------------------------------------------------------- (b) service, SysV under a root

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A RHEL-style init script running busybox httpd on 127.0.0.1. This sandbox's PID 1 reaps orphans
 * late, so a killed daemon lingers as a zombie for a while: status counts a zombie as dead.
 */
function webScript(root: string, port: number): string {
  return `#!/bin/sh
# lvst-web     busybox httpd for the lvsctl service test
# chkconfig: 2345 85 15
# description: test web server
ROOT='${root}'
PIDFILE="$ROOT/var/run/lvst-web.pid"
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
case "$1" in
  start)
    if [ -f "$PIDFILE" ] && alive "$(cat "$PIDFILE")"; then exit 0; fi
    busybox httpd -f -p 127.0.0.1:${port} -h "$ROOT/var/www/html" </dev/null >/dev/null 2>&1 &
    echo $! > "$PIDFILE"
    ;;
  stop)
    if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null; rm -f "$PIDFILE"; fi
    ;;
  status)
    if [ -f "$PIDFILE" ]; then
      if alive "$(cat "$PIDFILE")"; then echo "lvst-web (pid $(cat "$PIDFILE")) is running..."; exit 0; fi
      echo "lvst-web dead but pid file exists"; exit 1
    fi
    echo "lvst-web is stopped"; exit 3
    ;;
  *) echo "Usage: $0 {start|stop|status}"; exit 2 ;;
esac
`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

test.serial('service (sysv): a real init script starts a real daemon; rc links; converge; drift in check mode; stop', async (t) => {
  const root = tempDir('svc');
  const port = await freePort();
  await fs.mkdir(path.join(root, 'etc/init.d'), { recursive: true });
  await fs.mkdir(path.join(root, 'var/run'), { recursive: true });
  await fs.mkdir(path.join(root, 'var/www/html'), { recursive: true });
  await fs.writeFile(path.join(root, 'var/www/html/index.html'), 'server3-http\n');
  await fs.writeFile(path.join(root, 'etc/init.d/lvst-web'), webScript(root, port), { mode: 0o755 });
  const pidfile = path.join(root, 'var/run/lvst-web.pid');
  pidfiles.push(pidfile);
  const rc = (level: number) => path.join(root, `etc/rc.d/rc${level}.d`);
  const want = { name: 'lvst-web', state: 'running', enabled: true };

  const first = await run(service, want, root, RHEL6);
  t.is(first.status, 'changed', first.msg);
  const pid = Number(await fs.readFile(pidfile, 'utf8'));
  t.true(alive(pid));
  const body = await waitFor('lvst-web to answer', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return r?.ok ? r.text() : undefined;
  });
  t.is(body, 'server3-http\n');
  for (const l of [2, 3, 4, 5]) t.is(await fs.readlink(path.join(rc(l), 'S85lvst-web')), '../../init.d/lvst-web');
  for (const l of [0, 1, 6]) t.true(existsSync(path.join(rc(l), 'K15lvst-web')));

  t.is((await run(service, want, root, RHEL6)).status, 'ok');
  t.is(Number(await fs.readFile(pidfile, 'utf8')), pid, 'not restarted');

  process.kill(pid, 'SIGTERM');
  await waitFor('the daemon to die', async () => (alive(pid) ? undefined : true));
  await fs.rm(path.join(rc(3), 'S85lvst-web'));
  const check = await run(service, want, root, RHEL6, true);
  t.is(check.status, 'changed');
  t.regex(check.diff?.before ?? '', /lvst-web: dead but pid file exists/);
  t.regex(check.diff?.before ?? '', /3:off/);
  t.regex(check.diff?.after ?? '', /\+ rc3\.d\/S85lvst-web/);
  t.false(existsSync(path.join(rc(3), 'S85lvst-web')), 'check mode makes no link');
  t.is(Number(await fs.readFile(pidfile, 'utf8')), pid, 'check mode starts nothing');

  t.is((await run(service, want, root, RHEL6)).status, 'changed');
  const pid2 = Number(await fs.readFile(pidfile, 'utf8'));
  t.not(pid2, pid);
  t.true(alive(pid2));
  t.true(existsSync(path.join(rc(3), 'S85lvst-web')));

  const down = { name: 'lvst-web', state: 'stopped', enabled: false };
  t.is((await run(service, down, root, RHEL6)).status, 'changed');
  await waitFor('the daemon to stop', async () => (alive(pid2) ? undefined : true));
  t.false(existsSync(pidfile));
  for (const l of [2, 3, 4, 5]) {
    t.false(existsSync(path.join(rc(l), 'S85lvst-web')));
    t.true(existsSync(path.join(rc(l), 'K15lvst-web')));
  }
  t.is((await run(service, down, root, RHEL6)).status, 'ok');
});

// ---------------------------------------------------------------- (c) firewall in a namespace

const SAVED_RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -m state --state NEW -m tcp -p tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
`;

/** Stands in for RHEL 6's iptables script; its stop leaves the rules so the module's flush shows. */
function iptablesScript(root: string): string {
  return `#!/bin/sh
# iptables     stand-in for RHEL 6's firewall script (lvsctl tests)
# chkconfig: 2345 08 92
LOCK='${root}/var/lock/subsys/iptables'
case "$1" in
  start) iptables-restore < '${root}/etc/sysconfig/iptables' && touch "$LOCK" ;;
  stop) rm -f "$LOCK" ;;
  status) if [ -f "$LOCK" ]; then iptables -S; exit 0; fi; echo "iptables: Firewall is not running."; exit 3 ;;
  *) exit 2 ;;
esac
`;
}

/** iptables-save without comments and counters, to compare states. */
async function rules(short: string): Promise<string> {
  const out = (await netns.run(short, ['iptables-save'])).stdout;
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    .join('\n');
}

test.serial('firewall off/on inside a namespace: real rules flushed, nat table kept, service stopped/disabled, started again', async (t) => {
  const root = tempDir('fw');
  const ns = 'a';
  await netns.add(ns);
  for (const d of ['etc/init.d', 'etc/sysconfig', 'var/lock/subsys']) await fs.mkdir(path.join(root, d), { recursive: true });
  await fs.writeFile(path.join(root, 'etc/sysconfig/iptables'), SAVED_RULES);
  const script = path.join(root, 'etc/init.d/iptables');
  await fs.writeFile(script, iptablesScript(root), { mode: 0o755 });
  for (const l of [0, 1, 2, 3, 4, 5, 6]) {
    await fs.mkdir(path.join(root, `etc/rc.d/rc${l}.d`), { recursive: true });
    await fs.symlink('../../init.d/iptables', path.join(root, `etc/rc.d/rc${l}.d/${l >= 2 && l <= 5 ? 'S08' : 'K92'}iptables`));
  }
  await netns.run(ns, [script, 'start']);
  await netns.run(ns, ['iptables', '-N', 'LVS-IN']);
  await netns.run(ns, ['iptables', '-I', 'INPUT', '-p', 'tcp', '--dport', '80', '-j', 'LVS-IN']);
  await netns.run(ns, ['iptables', '-P', 'FORWARD', 'DROP']);
  await netns.run(ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '172.25.7.0/24', '-j', 'MASQUERADE']);
  await netns.run(ns, ['iptables', '-t', 'mangle', '-A', 'PREROUTING', '-j', 'MARK', '--set-mark', '1']);
  const job = (args: Record<string, unknown>, check = false, r = root) => ({
    modules: ['firewall'],
    tasks: [task('firewall', args)],
    root: r,
    check,
    diff: true,
    facts: RHEL6,
  });
  const start = await rules(ns);
  t.regex(start, /REJECT/);

  const [dry] = await runInNetns(netns, ns, job({ state: 'off' }, true));
  t.is(dry.status, 'changed', dry.msg);
  t.regex(dry.diff?.before ?? '', /-A POSTROUTING -s 172\.25\.7\.0\/24 -j MASQUERADE/);
  t.regex(dry.diff?.before ?? '', /:LVS-IN -/);
  t.is(await rules(ns), start, 'check mode flushes nothing');
  t.true(existsSync(path.join(root, 'var/lock/subsys/iptables')), 'check mode stops nothing');

  const [off] = await runInNetns(netns, ns, job({ state: 'off' }));
  t.is(off.status, 'changed', off.msg);
  const after = await rules(ns);
  t.false(after.includes('-A '), after);
  t.false(after.includes('LVS-IN'));
  t.false(/ DROP/.test(after), 'policies back to ACCEPT');
  t.regex(after, /\*nat\n:PREROUTING ACCEPT/, 'the nat table is still there for LVS NAT');
  t.false(existsSync(path.join(root, 'var/lock/subsys/iptables')), 'service stopped');
  t.true(existsSync(path.join(root, 'etc/rc.d/rc3.d/K92iptables')) && !existsSync(path.join(root, 'etc/rc.d/rc3.d/S08iptables')));

  const [again] = await runInNetns(netns, ns, job({ state: 'off' }));
  t.is(again.status, 'ok', again.msg);

  await netns.run(ns, ['iptables', '-A', 'INPUT', '-s', '203.0.113.9', '-j', 'DROP']);
  const drift = await rules(ns);
  const [seen] = await runInNetns(netns, ns, job({ state: 'off' }, true));
  t.is(seen.status, 'changed');
  t.regex(seen.diff?.before ?? '', /-A INPUT -s 203\.0\.113\.9\/32 -j DROP/);
  t.is(await rules(ns), drift, 'check mode leaves the new rule');
  t.is((await runInNetns(netns, ns, job({ state: 'off' })))[0].status, 'changed');
  t.false((await rules(ns)).includes('-A '));

  const [on] = await runInNetns(netns, ns, job({ state: 'on' }));
  t.is(on.status, 'changed', on.msg);
  t.regex(await rules(ns), /-A INPUT -j REJECT --reject-with icmp-host-prohibited/, "the service's start restored its saved rules");
  t.true(existsSync(path.join(root, 'etc/rc.d/rc3.d/S08iptables')));
  t.is((await runInNetns(netns, ns, job({ state: 'on' })))[0].status, 'ok');

  const bare = tempDir('fw-bare');
  const [nosvc] = await runInNetns(netns, ns, job({ state: 'off' }, false, bare));
  t.is(nosvc.status, 'changed');
  t.regex(nosvc.msg ?? '', /service iptables not found on this host: service part skipped/);
  t.false((await rules(ns)).includes('-A '));
});

// ---------------------------------------------------------------- (d) package with apt, offline

async function localAptRepo(): Promise<string[]> {
  const dir = tempDir('apt');
  const build = path.join(dir, 'build');
  await fs.mkdir(path.join(build, 'DEBIAN'), { recursive: true });
  await fs.mkdir(path.join(build, `usr/share/doc/${DUMMY}`), { recursive: true });
  await fs.writeFile(path.join(build, `usr/share/doc/${DUMMY}/README`), 'dummy package for the lvsctl package test\n');
  const control = `Package: ${DUMMY}\nVersion: 1.0\nArchitecture: all\nMaintainer: lvsctl tests <root@localhost>\nDescription: dummy package for lvsctl tests\n`;
  await fs.writeFile(path.join(build, 'DEBIAN/control'), control);
  await fs.mkdir(path.join(dir, 'repo'));
  const deb = path.join(dir, 'repo', `${DUMMY}_1.0_all.deb`);
  await execOk(exec, 'dpkg-deb', ['--build', '--root-owner-group', build, deb]);
  const bytes = await fs.readFile(deb);
  // A flat repository's Packages file, written by hand (dpkg-scanpackages is in dpkg-dev).
  const entry = `${control.replace(/Description:.*\n/, '')}Filename: ./${path.basename(deb)}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\nDescription: dummy package for lvsctl tests\n`;
  await fs.writeFile(path.join(dir, 'repo/Packages'), entry);
  await fs.writeFile(path.join(dir, 'sources.list'), `deb [trusted=yes] file:${path.join(dir, 'repo')} ./\n`);
  for (const d of ['lists/partial', 'archives/partial']) await fs.mkdir(path.join(dir, d), { recursive: true });
  return [
    `Dir::Etc::sourcelist=${path.join(dir, 'sources.list')}`,
    'Dir::Etc::sourceparts=-',
    'APT::Get::List-Cleanup=0',
    `Dir::State::Lists=${path.join(dir, 'lists')}`,
    `Dir::Cache::archives=${path.join(dir, 'archives')}`,
    'Dir::Cache::pkgcache=',
    'Dir::Cache::srcpkgcache=',
    'DPkg::Lock::Timeout=120',
  ];
}

async function dpkgStatus(): Promise<string> {
  const r = await exec('dpkg-query', ['-W', '-f', '${Status}', DUMMY]);
  return r.code === 0 ? r.stdout : 'unknown';
}

test.serial('package (apt): a dummy .deb from a local repository, installed, converged, checked, removed', async (t) => {
  const aptOptions = await localAptRepo();
  await execOk(exec, 'apt-get', [...aptOptions.flatMap((o) => ['-o', o]), 'update']);
  const root = tempDir('pkgroot');
  const want = { name: DUMMY, aptOptions };

  dummyInstalled = true;
  const first = await run(pkg, want, root, DEBIAN);
  t.is(first.status, 'changed', first.msg);
  t.is(await dpkgStatus(), 'install ok installed');
  t.regex(first.diff?.before ?? '', new RegExp(`${DUMMY}: \\(not installed\\)`));
  t.is((await run(pkg, want, root, DEBIAN)).status, 'ok');

  const check = await run(pkg, { ...want, state: 'absent' }, root, DEBIAN, true);
  t.is(check.status, 'changed');
  t.regex(check.diff?.before ?? '', new RegExp(`${DUMMY}: 1\\.0`));
  t.is(await dpkgStatus(), 'install ok installed', 'check mode removes nothing');

  t.is((await run(pkg, { ...want, state: 'absent' }, root, DEBIAN)).status, 'changed');
  t.not(await dpkgStatus(), 'install ok installed');
  t.is((await run(pkg, { ...want, state: 'absent' }, root, DEBIAN)).status, 'ok');
});
