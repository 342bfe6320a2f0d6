import test from 'ava';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { probeController } from '../../lab/controller.js';
import { LAB_HOST_NAMES } from '../../lab/topology.js';
import { exec } from '../../common/exec.js';
import type { RenderedTask, TaskResult } from '../../common/protocol.js';
import { findListed, parseList } from '../../agent/ipvs/parse-list.js';
import { endTestLab, startTestLab, stopTestLab, type TestLab } from '../helpers/lab.js';
import { task, type NetnsJob } from '../helpers/netns.js';
import { CTL, REPO } from '../helpers/procs.js';

// One real-kernel guest (Debian's kernel under qemu TCG) for the whole file; see test/helpers/lab.ts
// for which lab this is and why an operator's lab is never touched.
let lab: TestLab | undefined;
let bootError: unknown;

async function boot(log: (m: string) => void): Promise<void> {
  lab = undefined;
  bootError = undefined;
  try {
    lab = await startTestLab({ log });
    log(`lab ${lab.up.reused ? 'reused' : 'booted'}: kernel ${lab.up.kernel}, controller ${lab.url}`);
  } catch (e) {
    bootError = e;
  }
}

test.before(async (t) => {
  await boot((m) => t.log(m));
});

test.after.always(async () => {
  await endTestLab();
});

function theLab(): TestLab {
  if (!lab) throw new Error(`the lab did not come up: ${(bootError as Error)?.message ?? bootError}`);
  return lab;
}

test.serial('the lab boots the real kernel with IPVS, and all four agents report its version', async (t) => {
  const l = theLab();
  const uname = (await l.run('guest', ['uname', '-r'])).stdout.trim();
  t.regex(uname, /^6\.1\./);
  t.not(uname, release(), 'the guest runs its own kernel, not the host one');
  t.is(uname, l.up.kernel);

  // Facts can follow the agent's "online" by a moment: wait for each agent's kernel fact.
  let kernels: Record<string, string | undefined> = {};
  let platforms: Record<string, unknown> = {};
  for (let i = 0; i < 240; i++) {
    const p = await probeController(Number(new URL(l.url).port), l.token, readFileSync(l.up.caFile, 'utf8'));
    if (p.kind === 'ours') {
      const online = p.agents.filter((a) => a.online);
      kernels = Object.fromEntries(online.map((a) => [a.name, a.facts?.os?.kernel]));
      platforms = Object.fromEntries(online.map((a) => [a.name, [a.facts?.pkgManager, a.facts?.initSystem]]));
      if (LAB_HOST_NAMES.every((n) => kernels[n])) break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const n of LAB_HOST_NAMES) t.is(kernels[n], uname, `agent ${n} reports the guest kernel`);
  // The guest runs the host's Debian user space with a shell script as PID 1: apt and SysV
  // scripts, whatever else (dnf) the host has installed.
  for (const n of LAB_HOST_NAMES) t.deepEqual(platforms[n], ['apt', 'sysv'], `agent ${n}: package manager and init system`);

  if (l.up.reused) await l.run('server2', ['ipvsadm', '-C']);
  const ipvs = await l.run('server2', ['ipvsadm', '-ln']);
  t.regex(ipvs.stdout, /^IP Virtual Server version/m);
  t.notRegex(ipvs.stdout, /^(TCP|UDP|SCTP|FWM)\s/m, 'the table is empty');
});

test.serial('DR mode configured by hand through the command channel balances round-robin', async (t) => {
  const l = theLab();
  const vip = '172.25.7.200';
  // Director: VIP alias on eth0, virtual service, two real servers by direct routing.
  await l.run('server2', ['ip', 'addr', 'replace', `${vip}/24`, 'dev', 'eth0', 'label', 'eth0:0']);
  await l.run('server2', ['ipvsadm', '-C']);
  await l.run('server2', ['ipvsadm', '-A', '-t', `${vip}:80`, '-s', 'rr']);
  for (const rs of ['172.25.7.3', '172.25.7.4']) {
    await l.run('server2', ['ipvsadm', '-a', '-t', `${vip}:80`, '-r', `${rs}:80`, '-g']);
  }
  // Real servers: VIP on lo, no ARP for it, a web server with a marker page.
  for (const host of ['server3', 'server4']) {
    const root = `/run/lab/roots/${host}`;
    await l.run(host, ['ip', 'addr', 'replace', `${vip}/32`, 'dev', 'lo', 'label', 'lo:0']);
    await l.run(host, [
      'sysctl', '-w',
      'net.ipv4.conf.lo.arp_ignore=1', 'net.ipv4.conf.lo.arp_announce=2',
      'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2',
    ]);
    await l.run(host, ['tee', `${root}/var/www/html/index.html`], { input: `${host}\n` });
    await l.run(host, [`${root}/etc/init.d/httpd`, 'restart']);
    const st = await l.exec(host, [`${root}/etc/init.d/httpd`, 'status']);
    t.is(st.code, 0, `httpd runs on ${host}: ${st.stdout}`);
  }

  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await l.run('client', ['curl', '-s', '-m', '10', `http://${vip}/`]);
    seen.push(r.stdout.trim());
  }
  t.log(seen.join(' '));
  t.deepEqual([...new Set(seen)].sort(), ['server3', 'server4']);
  for (let i = 1; i < seen.length; i++) t.not(seen[i], seen[i - 1], `request ${i + 1} went to the other real server`);

  const table = (await l.run('server2', ['ipvsadm', '-ln'])).stdout;
  t.regex(table, new RegExp(`^TCP\\s+${vip.replace(/\./g, '\\.')}:80 rr`, 'm'));
  t.regex(table, /->\s+172\.25\.7\.3:80\s+Route\s/);
  t.regex(table, /->\s+172\.25\.7\.4:80\s+Route\s/);
});

// ---------------------------------------------------------------------------------------------
// Modules that need the real kernel (issue 4): each task list runs through the agent's runner
// inside a lab host (test/helpers/netns-runner.js, started in the host's namespace in the guest).

const RUNNER = `${REPO}/dist/test/helpers/netns-runner.js`;

async function runIn(host: string, job: Omit<NetnsJob, 'root'>): Promise<TaskResult[]> {
  const r = await theLab().exec(host, [process.execPath, RUNNER], { input: JSON.stringify({ root: `/run/lab/roots/${host}`, ...job }), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`runner on ${host} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as TaskResult[];
}

const statuses = (rs: TaskResult[]) => rs.map((r) => r.status);

const VS = '172.25.7.50';
function ipvsTask(weight3: number, policy: 'keep' | 'report' | 'purge' = 'report'): RenderedTask {
  return task('ipvs', {
    policy,
    services: [
      {
        protocol: 'tcp',
        address: VS,
        port: 80,
        scheduler: 'rr',
        realServers: [
          { address: '172.25.7.3', forwarding: 'dr', weight: weight3 },
          { address: '172.25.7.4', forwarding: 'dr', weight: 1 },
        ],
      },
    ],
    save: { path: '/etc/sysconfig/ipvsadm' },
  });
}

test.serial('ipvs module on the real kernel: apply twice, edit one weight in place, keep/report/purge', async (t) => {
  const l = theLab();
  await l.run('server2', ['ipvsadm', '-C']);
  const vip = task('address', { address: `${VS}/32`, device: 'eth0' });
  t.deepEqual(statuses(await runIn('server2', { modules: ['address', 'ipvs'], tasks: [vip, ipvsTask(1)] })), ['changed', 'changed']);
  const saved1 = (await l.run('server2', ['ipvsadm', '-Sn'])).stdout;
  t.regex(saved1, new RegExp(`-a -t ${VS}:80 -r 172\\.25\\.7\\.3:80 -g -w 1`));
  t.deepEqual(statuses(await runIn('server2', { modules: ['address', 'ipvs'], tasks: [vip, ipvsTask(1)] })), ['ok', 'ok']);
  t.is((await l.run('server2', ['ipvsadm', '-Sn'])).stdout, saved1, 'second run touched nothing');
  t.is((await l.run('server2', ['cat', '/run/lab/roots/server2/etc/sysconfig/ipvsadm'])).stdout, saved1, 'saved like service ipvsadm save');

  // Connections from the client give both real servers counters (they need not answer: the
  // director schedules the SYN either way).
  const conns = (list: ReturnType<typeof parseList>, rs: string) => findListed(list, `tcp:${VS}:80`, `${rs}:80`)?.stats?.conns ?? -1;
  const stats = async () => parseList((await l.run('server2', ['ipvsadm', '-ln', '--stats'])).stdout);
  let before = await stats();
  // Bounded: a SYN can be lost to ARP resolution under emulation, so try up to 12 times.
  for (let i = 0; i < 12 && !(conns(before, '172.25.7.3') > 0 && conns(before, '172.25.7.4') > 0); i++) {
    await l.exec('client', ['curl', '-s', '-m', '2', `http://${VS}/`]);
    before = await stats();
  }
  t.true(conns(before, '172.25.7.3') > 0 && conns(before, '172.25.7.4') > 0, JSON.stringify(before.services));

  const edit = await runIn('server2', { modules: ['ipvs'], tasks: [ipvsTask(3)], diff: true });
  t.deepEqual(statuses(edit), ['changed']);
  const after = await stats();
  t.is(conns(after, '172.25.7.4'), conns(before, '172.25.7.4'), 'the other real server was not touched');
  t.is(conns(after, '172.25.7.3'), conns(before, '172.25.7.3'), 'the edited one was edited in place, not re-created');
  t.is(findListed(parseList((await l.run('server2', ['ipvsadm', '-ln'])).stdout), `tcp:${VS}:80`, '172.25.7.3:80')?.weight, 3);

  // Check mode after a hand edit reports it and leaves it.
  await l.run('server2', ['ipvsadm', '-e', '-t', `${VS}:80`, '-r', '172.25.7.4:80', '-g', '-w', '7']);
  t.deepEqual(statuses(await runIn('server2', { modules: ['ipvs'], tasks: [ipvsTask(3)], check: true })), ['changed']);
  t.regex((await l.run('server2', ['ipvsadm', '-Sn'])).stdout, /-r 172\.25\.7\.4:80 -g -w 7/);

  // A service no task declares: keep leaves it silently, report names it, purge removes it.
  await l.run('server2', ['ipvsadm', '-A', '-t', '172.25.7.60:80', '-s', 'wlc']);
  const keep = await runIn('server2', { modules: ['ipvs'], tasks: [ipvsTask(3, 'keep')] });
  t.deepEqual(statuses(keep), ['changed'], 'the hand edit of .4 is repaired');
  t.falsy(keep[0].msg);
  const report = await runIn('server2', { modules: ['ipvs'], tasks: [ipvsTask(3, 'report')] });
  t.deepEqual(statuses(report), ['ok']);
  t.regex(report[0].msg ?? '', /tcp:172\.25\.7\.60:80/);
  t.regex((await l.run('server2', ['ipvsadm', '-Sn'])).stdout, /-A -t 172\.25\.7\.60:80 -s wlc/);
  t.deepEqual(statuses(await runIn('server2', { modules: ['ipvs'], tasks: [ipvsTask(3, 'purge')] })), ['changed']);
  t.notRegex((await l.run('server2', ['ipvsadm', '-Sn'])).stdout, /172\.25\.7\.60/);

  await l.run('server2', ['ipvsadm', '-C']);
  await l.run('server2', ['ip', 'addr', 'del', `${VS}/32`, 'dev', 'eth0']);
});

test.serial('tunnel and kernel_module on the real kernel: apply twice, check mode changes nothing', async (t) => {
  const l = theLab();
  const tun = [
    task('tunnel', { name: 'tunl0' }),
    task('address', { address: '172.25.7.51/32', device: 'tunl0' }),
    task('sysctl', { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }),
  ];
  const modules = ['tunnel', 'address', 'sysctl'];
  const first = await runIn('server3', { modules, tasks: tun });
  t.is(first[0].status, 'changed', JSON.stringify(first));
  t.is(first[1].status, 'changed');
  t.deepEqual(statuses(await runIn('server3', { modules, tasks: tun })), ['ok', 'ok', 'ok']);
  t.regex((await l.run('server3', ['ip', 'addr', 'show', 'tunl0'])).stdout, /UP.*\n[\s\S]*inet 172\.25\.7\.51\/32/);
  await l.run('server3', ['ip', 'link', 'set', 'tunl0', 'down']);
  // Both the tunnel and the address task (up: true by default, as `ifconfig ... up`) see the link down.
  t.deepEqual(statuses(await runIn('server3', { modules, tasks: tun, check: true })), ['changed', 'changed', 'ok']);
  t.notRegex((await l.run('server3', ['ip', 'link', 'show', 'tunl0'])).stdout, /[<,]UP[,>]/, 'check mode left tunl0 down');
  const gone = await runIn('server3', { modules, tasks: [task('address', { address: '172.25.7.51/32', device: 'tunl0', state: 'absent' }), task('tunnel', { name: 'tunl0', state: 'absent' })] });
  t.deepEqual(statuses(gone), ['changed', 'ok']);

  const kmod = [task('kernel_module', { name: 'ip_vs_sh' })];
  await l.exec('server2', ['modprobe', '-r', 'ip_vs_sh']);
  t.deepEqual(statuses(await runIn('server2', { modules: ['kernel_module'], tasks: kmod })), ['changed']);
  t.regex((await l.run('server2', ['cat', '/proc/modules'])).stdout, /^ip_vs_sh /m);
  t.is((await l.run('server2', ['cat', '/run/lab/roots/server2/etc/modules-load.d/ip_vs_sh.conf'])).stdout, 'ip_vs_sh\n');
  t.deepEqual(statuses(await runIn('server2', { modules: ['kernel_module'], tasks: kmod })), ['ok']);
  await l.run('server2', ['modprobe', '-r', 'ip_vs_sh']);
  t.deepEqual(statuses(await runIn('server2', { modules: ['kernel_module'], tasks: kmod, check: true })), ['changed']);
  t.notRegex((await l.run('server2', ['cat', '/proc/modules'])).stdout, /^ip_vs_sh /m, 'check mode loaded nothing');
});

// ---------------------------------------------------------------------------------------------
// The reference clusters built by the roles (issue 5), each from empty hosts (a fresh guest),
// then NAT -> TUN -> DR on the same hosts.

const MODES = {
  nat: { vip: '172.25.254.100', shown: 'Masq' },
  tun: { vip: '172.25.7.100', shown: 'Tunnel' },
  dr: { vip: '172.25.7.200', shown: 'Route' },
} as const;
type Mode = keyof typeof MODES;

function ctl(args: string[]) {
  const l = theLab();
  // ctl finds the lab's URL, token and CA in the lab folder, as an operator's ctl does: no token on its command line.
  return exec(process.execPath, [CTL, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: l.paths.dir, LVSCTL_URL: '', LVSCTL_TOKEN: '', LVSCTL_CA: '' }, timeoutMs: 300_000 });
}

function assertNothingChanged(t: import('ava').ExecutionContext, out: string, what: string): void {
  for (const h of ['server2', 'server3', 'server4']) t.regex(out, new RegExp(`^${h}\\s+: ok=\\d+\\s+changed=0\\s+unreachable=0\\s+failed=0`, 'm'), `${what}: ${h}\n${out}`);
}

async function converge(t: import('ava').ExecutionContext, mode: Mode): Promise<void> {
  const l = theLab();
  const { vip, shown } = MODES[mode];
  const inv = ['-i', `inventory/${mode}.yml`, '-i', 'inventory/lab.yml'];
  // Check mode first: it reports what would change and fails nowhere, even where a device
  // (tunl0) does not exist yet, and changes nothing.
  const preview = await ctl(['run', 'playbook', 'site.yml', ...inv, '--check']);
  t.is(preview.code, 0, `${mode} --check before the first run: ${preview.stdout}${preview.stderr}`);
  t.regex(preview.stdout, /^server3\s+: ok=\d+\s+changed=[1-9]/m);
  const run = await ctl(['run', 'playbook', 'site.yml', ...inv]);
  t.is(run.code, 0, `${mode}: ${run.stdout}${run.stderr}`);

  const seen: string[] = [];
  for (let i = 0; i < 6; i++) seen.push((await l.run('client', ['curl', '-s', '-m', '10', `http://${vip}/`])).stdout.trim());
  t.log(`${mode}: ${seen.join(' ')}`);
  t.deepEqual([...new Set(seen)].sort(), ['server3-hk', 'server4-hk'], `${mode}: both real servers answer`);
  for (let i = 1; i < seen.length; i++) t.not(seen[i], seen[i - 1], `${mode}: request ${i + 1} went to the other real server`);

  const table = (await l.run('server2', ['ipvsadm', '-ln'])).stdout;
  t.deepEqual(parseList(table).services.map((s) => s.key), [`tcp:${vip}:80`], table);
  for (const rs of ['172.25.7.3', '172.25.7.4']) t.regex(table, new RegExp(`->\\s+${rs.replace(/\./g, '\\.')}:80\\s+${shown}\\s+1\\s`), table);

  const again = await ctl(['run', 'playbook', 'site.yml', ...inv]);
  t.is(again.code, 0);
  assertNothingChanged(t, again.stdout, `${mode} second run`);
  const check = await ctl(['run', 'playbook', 'site.yml', ...inv, '--check']);
  t.is(check.code, 0);
  assertNothingChanged(t, check.stdout, `${mode} --check`);
}

for (const mode of ['nat', 'tun', 'dr'] as const) {
  test.serial(`${mode.toUpperCase()} cluster from empty hosts: playbook, curl alternates, ipvsadm, idempotent, check`, async (t) => {
    await stopTestLab();
    await boot((m) => t.log(m));
    await converge(t, mode);
  });
}

test.serial('NAT -> TUN -> DR on the same hosts converges and retires what the old mode put in place', async (t) => {
  const l = theLab();
  await converge(t, 'nat');
  t.regex((await l.run('server3', ['ip', 'route'])).stdout, /^default via 172\.25\.7\.2 dev eth0/m);

  await converge(t, 'tun');
  t.notRegex((await l.run('server2', ['ip', 'addr', 'show', 'eth0'])).stdout, /172\.25\.254\.100/, 'the NAT VIP is gone from the director');
  t.notRegex((await l.run('server3', ['ip', 'route'])).stdout, /^default/m, 'the NAT gateway is gone from the real server');
  t.notRegex((await l.run('server3', ['cat', '/run/lab/roots/server3/etc/sysconfig/network'])).stdout, /^GATEWAY=/m);

  await converge(t, 'dr');
  t.notRegex((await l.run('server2', ['ip', 'addr', 'show', 'eth0'])).stdout, /172\.25\.7\.100/, 'the TUN VIP is gone from the director');
  const tunl0 = (await l.run('server3', ['ip', 'addr', 'show', 'tunl0'])).stdout;
  t.notRegex(tunl0, /inet /, 'tunl0 holds no VIP any more');
  t.notRegex(tunl0, /[<,]UP[,>]/, 'tunl0 is down');
  t.notRegex((await l.run('server3', ['ip', 'route'])).stdout, /172\.25\.7\.100/, 'the route to the TUN VIP is gone');
});
