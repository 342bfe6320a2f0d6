import test from 'ava';
import { mkdtempSync, promises as fs, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, waitFor } from '../helpers/procs.js';
import { NsCluster } from '../helpers/cluster.js';

/**
 * The walking skeleton end to end: a real controller process and three real agents, each in its
 * own network namespace on one bridge, each with its own root folder. Nothing lives in the
 * host's own namespace: the bridge and the controller sit in a `hub` namespace of their own.
 */
const HOSTS = { server2: '172.25.7.2', server3: '172.25.7.3', server4: '172.25.7.4' } as const;
// A `dnf` on the agents' PATH, as Debian's dnf package puts one there: it must not decide anything.
const extraBin = mkdtempSync(path.join(os.tmpdir(), 'lvst-bin-'));
writeFileSync(path.join(extraBin, 'dnf'), '#!/bin/sh\necho "dnf must not be run on Debian" >&2\nexit 1\n', { mode: 0o755 });
const cluster = new NsCluster({
  prefix: `lvst-sk${process.pid % 100000}`,
  hosts: HOSTS,
  project: path.join(REPO, 'test/fixtures/project'),
  agentEnv: { PATH: `${extraBin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
});
const net = cluster.net;
const procs = cluster.procs;
const tmp = cluster.tmp;
const root = (h: string) => cluster.root(h);
const ctl = (args: string[]) => cluster.ctl(args);

interface RunJson {
  id: string;
  hosts: Record<string, { status: string; results: { name: string; status: string; msg?: string }[] }>;
  recap: Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: number }>;
}

async function lastRun(): Promise<RunJson> {
  const list = JSON.parse((await ctl(['runs', '--json'])).stdout) as { id: string }[];
  return JSON.parse((await ctl(['runs', 'show', list[0].id, '--json'])).stdout) as RunJson;
}

test.before(async () => {
  await cluster.start(async (dir) => {
    await fs.mkdir(path.join(dir, 'etc/sysconfig'), { recursive: true });
    await fs.writeFile(path.join(dir, 'etc/sysconfig/network'), 'NETWORKING=yes\n');
  });
});

test.after.always(async () => {
  await cluster.stop();
  rmSync(extraBin, { recursive: true, force: true });
});

test.serial('agents report facts and heartbeats with their own addresses', async (t) => {
  const agents = JSON.parse((await ctl(['agents', '--json'])).stdout) as { name: string; online: boolean; address: string; facts: { os: { kernel: string; family: string }; pkgManager: string; interfaces: { name: string; ip4: string }[] }; heartbeatAgeMs: number }[];
  t.deepEqual(agents.map((a) => a.name), ['server2', 'server3', 'server4']);
  for (const a of agents) {
    t.true(a.online);
    t.is(a.address, HOSTS[a.name as keyof typeof HOSTS]);
    t.is(a.facts.os.kernel, os.release());
    t.true(a.facts.interfaces.some((i) => i.name === 'eth0' && i.ip4 === HOSTS[a.name as keyof typeof HOSTS]));
    // The suite runs on Debian (README): apt, from os-release, with a dnf on the PATH.
    t.is(a.facts.os.family, 'debian');
    t.is(a.facts.pkgManager, 'apt');
  }
  const table = await ctl(['agents']);
  t.regex(table.stdout, /server3\s+online\s+\d+ (ms|s) ago\s+172\.25\.7\.3/);
});

test.serial('a role applies, converges, is checked, and an unreachable host is reported', async (t) => {
  const first = await ctl(['run', 'role', 'baseline', '--hosts', 'all', '-i', 'inventory.ini', '--diff']);
  t.is(first.code, 0, first.stdout + first.stderr);
  t.regex(first.stdout, /changed: \[server3\] baseline : message of the day/);
  t.regex(first.stdout, /\+ server3 \(172\.25\.7\.3\) managed by lvs-team/);
  t.regex(first.stdout, /server4\s+: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0\s+skipped=1/);
  let run = await lastRun();
  t.deepEqual(run.recap.server2, { ok: 0, changed: 5, failed: 0, skipped: 0, unreachable: 0 });
  t.deepEqual(run.recap.server3, { ok: 0, changed: 4, failed: 0, skipped: 1, unreachable: 0 });
  t.is(await fs.readFile(path.join(root('server2'), 'etc/motd'), 'utf8'), `server2 (172.25.7.2) managed by lvs-team\nkernel ${os.release()}\n`);
  t.is((await net.run(cluster.short('server3'), ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '1');
  t.regex(await fs.readFile(path.join(root('server4'), 'etc/sysctl.conf'), 'utf8'), /^net\.ipv4\.ip_forward = 1$/m);
  t.is(await fs.readFile(path.join(root('server2'), 'etc/sysconfig/network'), 'utf8'), 'NETWORKING=yes\nHOSTNAME=server2\nGATEWAY=172.25.7.1\n');

  const second = await ctl(['run', 'role', 'baseline', '--hosts', 'all', '-i', 'inventory.ini']);
  t.is(second.code, 0);
  run = await lastRun();
  for (const h of Object.keys(HOSTS)) t.is(run.recap[h].changed, 0, `${h} converged`);

  await fs.writeFile(path.join(root('server3'), 'etc/motd'), 'hand edited\n');
  await net.run(cluster.short('server3'), ['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
  const check = await ctl(['run', 'role', 'baseline', '--hosts', 'server[3:4]', '-i', 'inventory.ini', '--check', '--diff']);
  t.is(check.code, 0);
  t.regex(check.stdout, /- hand edited/);
  run = await lastRun();
  t.deepEqual(Object.keys(run.recap).sort(), ['server3', 'server4']);
  t.deepEqual(
    run.hosts.server3.results.filter((r) => r.status === 'changed').map((r) => r.name),
    ['ip forwarding', 'message of the day'],
  );
  t.is(run.recap.server4.changed, 0);
  t.is(await fs.readFile(path.join(root('server3'), 'etc/motd'), 'utf8'), 'hand edited\n', 'check mode changed nothing');
  t.is((await net.run(cluster.short('server3'), ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '0');

  await procs.kill('server4');
  await waitFor('server4 offline', async () => {
    const agents = JSON.parse((await ctl(['agents', '--json'])).stdout) as { name: string; online: boolean }[];
    return agents.find((a) => a.name === 'server4')?.online === false ? true : undefined;
  });
  const partial = await ctl(['run', 'role', 'baseline', '--hosts', 'all', '-i', 'inventory.ini']);
  t.is(partial.code, 3, 'exit code 3 when a host is unreachable');
  t.regex(partial.stdout, /fatal: \[server4\]: UNREACHABLE!/);
  run = await lastRun();
  t.is(run.recap.server4.unreachable, 1);
  t.is(run.hosts.server3.status, 'done');
  t.is(run.recap.server3.changed, 2, 'server3 repaired while server4 was down');
  t.is(run.recap.server2.failed, 0);
});

test.serial('bad input gets one line naming file and line, and a non-zero exit', async (t) => {
  const badInv = path.join(tmp, 'bad.ini');
  await fs.writeFile(badInv, '[directors\nserver2\n');
  const r1 = await ctl(['run', 'role', 'baseline', '--hosts', 'all', '-i', badInv]);
  t.is(r1.code, 4);
  t.regex(r1.stderr, new RegExp(`^ERROR! ${badInv}:1: `));
  t.is(r1.stderr.trim().split('\n').length, 1, 'one line, no stack trace');

  const r2 = await ctl(['run', 'role', 'no-such-role', '--hosts', 'all', '-i', 'inventory.ini']);
  t.is(r2.code, 4);
  t.regex(r2.stderr, /unknown role 'no-such-role'/);

  const r3 = await ctl(['run', 'role', 'baseline', '--hosts', 'server9', '-i', 'inventory.ini']);
  t.is(r3.code, 4);
  t.regex(r3.stderr, /server9/);

  const r4 = await ctl(['run', 'role', 'baseline', '--hosts', 'all', '-i', 'inventory.ini', '-e', 'forwarding=1=1']);
  t.is(r4.code, 4);
  t.regex(r4.stderr, /roles\/baseline\/tasks\.yml:1: sysctl: task 'ip forwarding'/);

  const r5 = await ctl(['run', 'role', 'baseline']);
  t.is(r5.code, 5);
});
