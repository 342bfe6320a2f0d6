import test from 'ava';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Exec } from '../../common/exec.js';
import type { HostFacts, TaskResult } from '../../common/protocol.js';
import ipvs, { desiredServices } from '../../agent/modules/ipvs.js';
import type { ModuleContext } from '../../agent/module.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import { describeIssues } from '../../agent/validate.js';
import { runTasks } from '../../agent/runner.js';
import { parseSave } from '../../agent/ipvs/parse-save.js';
import { batchText, type IpvsChange } from '../../agent/ipvs/plan.js';
import { serviceKey } from '../../agent/ipvs/table.js';
import { FakeIpvs } from '../helpers/fake-ipvs.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/ipvs/', import.meta.url));
const fixture = (name: string) => readFileSync(FIXTURES + name, 'utf8');

async function context(fake: FakeIpvs, root = '/'): Promise<ModuleContext> {
  return { root, check: false, exec: fake.exec, facts: {} as HostFacts, kernel: new KernelState({ exec: fake.exec }) };
}

const args = (input: unknown) => ipvs.schema.parse(input);
type Args = ReturnType<typeof args>;

function plan(input: unknown, sn: string, saveText?: string | null) {
  const a = args(input);
  const observed = { raw: sn, table: parseSave(sn), ...(saveText !== undefined ? { saveText } : {}) };
  return ipvs.plan(a, observed, {} as ModuleContext);
}
const kernelBatch = (changes: { kind: string }[]) => batchText(changes.filter((c) => c.kind !== 'save') as IpvsChange[]);

// ---------------------------------------------------------------- declarations used below

const DR_SERVICE = {
  protocol: 'tcp',
  address: '172.25.7.200',
  port: 80,
  scheduler: 'rr',
  realServers: [
    { address: '172.25.7.3', forwarding: 'dr' },
    { address: '172.25.7.4', forwarding: 'dr' },
  ],
};
const DR = { services: [DR_SERVICE] };
const DR_SN =
  '-A -t 172.25.7.200:80 -s rr\n' +
  '-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n' +
  '-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n';
const NAT_SN =
  '-A -t 172.25.254.100:80 -s rr\n' +
  '-a -t 172.25.254.100:80 -r 172.25.7.3:80 -m -w 1\n' +
  '-a -t 172.25.254.100:80 -r 172.25.7.4:80 -m -w 1\n';
const withServer = (i: number, patch: object) => ({
  services: [{ ...DR_SERVICE, realServers: DR_SERVICE.realServers.map((r, j) => (j === i ? { ...r, ...patch } : r)) }],
});

// ---------------------------------------------------------------- validation

function issues(input: unknown): string {
  const r = ipvs.schema.safeParse(input);
  return r.success ? '(valid)' : describeIssues(r.error);
}

test('schema: defaults as ipvsadm has them (wlc, dr, weight 1, policy report)', (t) => {
  const a = args({ services: [{ address: '172.25.7.200', port: 80, realServers: [{ address: '172.25.7.3' }] }] });
  t.is(a.policy, 'report');
  t.like(a.services[0], { protocol: 'tcp', scheduler: 'wlc' });
  t.like(a.services[0].realServers[0], { forwarding: 'dr', weight: 1 });
  t.is(args({}).services.length, 0);
  t.is(args({ save: {} }).save?.path, '/etc/sysconfig/ipvsadm');
});

test('schema: each bad argument fails naming its field', (t) => {
  const svc = (patch: object) => ({ services: [{ ...DR_SERVICE, ...patch }] });
  t.regex(issues(svc({ address: '172.25.7.300' })), /^services\.0\.address: must be an IPv4 address/);
  t.regex(issues(svc({ port: 70000 })), /^services\.0\.port: port must be 0-65535$/);
  t.regex(issues(svc({ scheduler: 'random' })), /^services\.0\.scheduler: scheduler must be one of rr, wrr, lc, wlc/);
  t.regex(issues(withServer(1, { weight: 65536 })), /^services\.0\.realServers\.1\.weight: weight must be 0-65535$/);
  t.regex(issues(withServer(1, { weight: -1 })), /^services\.0\.realServers\.1\.weight: weight must be 0-65535$/);
  t.regex(issues(withServer(0, { forwarding: 'fullnat' })), /^services\.0\.realServers\.0\.forwarding: forwarding must be nat, tun or dr$/);
  t.regex(issues(withServer(0, { uThreshold: -5 })), /^services\.0\.realServers\.0\.uThreshold: /);
  t.regex(issues({ services: [DR_SERVICE, { ...DR_SERVICE, scheduler: 'wrr' }] }), /^services\.1: duplicate virtual service tcp:172\.25\.7\.200:80 \(also services\.0\)$/);
  t.regex(issues(withServer(1, { address: '172.25.7.3' })), /^services\.0\.realServers\.1\.address: duplicate real server 172\.25\.7\.3:80 \(also realServers\.0\)$/);
  t.regex(issues({ services: [{ protocol: 'fwmark', realServers: [] }] }), /^services\.0\.fwmark: protocol fwmark needs fwmark: N/);
  t.regex(issues({ services: [{ protocol: 'fwmark', fwmark: 0 }] }), /^services\.0\.fwmark: fwmark must be 1-4294967295$/);
  t.regex(issues(svc({ fwmark: 3 })), /^services\.0\.fwmark: only with protocol: fwmark$/);
  t.regex(issues(svc({ protocol: 'sctp' })), /^services\.0\.protocol: protocol must be tcp, udp or fwmark$/);
  t.regex(issues(svc({ address: undefined })), /^services\.0\.address: protocol tcp needs address$/);
  t.regex(issues(svc({ port: 0 })), /^services\.0\.port: 0 \(all ports\) needs persistent/);
  t.regex(issues(svc({ netmask: '255.255.255.0' })), /^services\.0\.netmask: needs persistent/);
  t.regex(issues(svc({ persistent: 300, netmask: '255.0.255.0' })), /^services\.0\.netmask: /);
  t.regex(issues(svc({ persistent: 86400 * 31 + 1 })), /^services\.0\.persistent: persistent must be 1-2678400 seconds or true$/);
  t.regex(issues(svc({ realservers: [] })), /^services\.0: Unrecognized key: "realservers"$/);
  t.regex(issues({ ...DR, policy: 'flush' }), /^policy: policy must be keep, report or purge$/);
  t.regex(issues({ ...DR, save: { path: 'etc/ipvsadm' } }), /^save\.path: must be an absolute path$/);
});

test('schema: DR and TUN real servers may not name another port (ipvsadm uses the virtual one); NAT may', (t) => {
  t.regex(issues(withServer(0, { port: 8080 })), /^services\.0\.realServers\.0\.port: must equal the virtual port 80 with forwarding dr/);
  t.regex(issues(withServer(0, { port: 8080, forwarding: 'tun' })), /with forwarding tun/);
  t.is(issues(withServer(0, { port: 8080, forwarding: 'nat' })), '(valid)');
  t.is(issues(withServer(0, { port: 80 })), '(valid)');
  t.is(issues({ services: [{ protocol: 'fwmark', fwmark: 1, realServers: [{ address: '172.25.7.3', port: 80 }] }] }), '(valid)');
});

test('desiredServices: ports, persistence defaults and netmasks as ipvsadm would store them', (t) => {
  const [dr, fwm, tcp0] = desiredServices(
    args({
      services: [
        { ...DR_SERVICE, persistent: true, netmask: 24 },
        { protocol: 'fwmark', fwmark: 1, persistent: 300, netmask: '255.255.255.255', realServers: [{ address: '172.25.7.3' }] },
        { address: '172.25.7.200', port: 0, persistent: 600, realServers: [{ address: '172.25.7.3', forwarding: 'nat', port: 8080 }] },
      ],
    }),
  );
  t.like(dr, { persistent: 360, netmask: '255.255.255.0' });
  t.is(dr.realServers[0].port, 80);
  t.is(fwm.netmask, undefined);
  t.is(fwm.realServers[0].port, 0);
  t.is(tcp0.realServers[0].port, 8080);
});

// ---------------------------------------------------------------- planning

test('plan: empty table -> -A then -a, as one batch', (t) => {
  const p = plan(DR, '');
  t.deepEqual(p.changes.map((c) => c.kind), ['add-service', 'add-server', 'add-server']);
  t.is(kernelBatch(p.changes), DR_SN);
  t.is(p.before, '# no virtual services\n');
  t.is(p.after, DR_SN);
  t.is(p.msg, undefined);
});

test('plan: converged table -> no changes', (t) => {
  const p = plan(DR, DR_SN);
  t.deepEqual(p.changes, []);
  t.is(p.before, p.after);
});

test('plan: one weight changed -> exactly one -e, nothing else touched', (t) => {
  const p = plan(withServer(1, { weight: 3 }), DR_SN);
  t.is(kernelBatch(p.changes), '-e -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 3\n');
  t.is(p.changes.length, 1);
});

test('plan: scheduler changed -> exactly one -E', (t) => {
  const p = plan({ services: [{ ...DR_SERVICE, scheduler: 'wrr' }] }, DR_SN);
  t.is(kernelBatch(p.changes), '-E -t 172.25.7.200:80 -s wrr\n');
});

test('plan: persistence added -> -E with every service option, netmask from a prefix', (t) => {
  const p = plan({ services: [{ ...DR_SERVICE, persistent: 600, netmask: 24 }] }, DR_SN);
  t.is(kernelBatch(p.changes), '-E -t 172.25.7.200:80 -s rr -p 600 -M 255.255.255.0\n');
  t.deepEqual(plan({ services: [{ ...DR_SERVICE, persistent: 600, netmask: 24 }] }, DR_SN.replace('-s rr', '-s rr -p 600 -M 255.255.255.0')).changes, []);
});

test('plan: real server removed from the declaration -> exactly one -d', (t) => {
  const p = plan({ services: [{ ...DR_SERVICE, realServers: [DR_SERVICE.realServers[0]] }] }, DR_SN);
  t.is(kernelBatch(p.changes), '-d -t 172.25.7.200:80 -r 172.25.7.4:80\n');
});

test('plan: forwarding changed Masq -> Route is an in-place -e per server', (t) => {
  const natOn200 = DR_SN.replaceAll(' -g ', ' -m ');
  const p = plan(DR, natOn200);
  t.is(kernelBatch(p.changes), '-e -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n-e -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n');
});

test('plan: a NAT server on another port becoming DR is a new key: -a first, then -d', (t) => {
  const sn = '-A -t 172.25.7.200:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.3:8080 -m -w 1\n-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n';
  const p = plan(DR, sn);
  t.is(kernelBatch(p.changes), '-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n-d -t 172.25.7.200:80 -r 172.25.7.3:8080\n');
});

test('plan: a gue tunnel declared as tun goes back to ipip with -e', (t) => {
  const tun = { services: [{ ...DR_SERVICE, realServers: [{ address: '172.25.7.3', forwarding: 'tun' }] }] };
  const sn = '-A -t 172.25.7.200:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n';
  t.is(kernelBatch(plan(tun, sn).changes), '-e -t 172.25.7.200:80 -r 172.25.7.3:80 -i -w 1\n');
  t.deepEqual(plan(tun, '-A -t 172.25.7.200:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.3:80 -i -w 1 --tun-type ipip\n').changes, []);
  t.deepEqual(plan(tun, fixture('save-tun-1.26.txt').replaceAll('172.25.7.100', '172.25.7.200').split('\n').slice(0, 2).join('\n')).changes, []);
});

test('plan: foreign service with purge -> -D', (t) => {
  const p = plan({ ...DR, policy: 'purge' }, DR_SN + NAT_SN);
  t.is(kernelBatch(p.changes), '-D -t 172.25.254.100:80\n');
  t.true(p.before.includes('-A -t 172.25.254.100:80 -s rr'));
  t.false(p.after.includes('172.25.254.100'));
  t.is(p.msg, undefined);
});

test('plan: foreign service with keep -> nothing, no msg, not in the diff', (t) => {
  const p = plan({ ...DR, policy: 'keep' }, DR_SN + NAT_SN);
  t.deepEqual(p.changes, []);
  t.is(p.msg, undefined);
  t.is(p.before, DR_SN);
  t.is(p.after, DR_SN);
});

test('plan: foreign service with report -> nothing changed, named in msg and in both sides of the diff', (t) => {
  const p = plan({ ...DR, policy: 'report' }, DR_SN + NAT_SN);
  t.deepEqual(p.changes, []);
  t.is(p.msg, '1 virtual service(s) not declared, left in place: tcp:172.25.254.100:80');
  t.is(p.before, DR_SN + NAT_SN);
  t.is(p.after, DR_SN + NAT_SN);
});

test('plan: the batch puts adds, then edits, then deletes, each in ipvsadm order', (t) => {
  const declared = {
    policy: 'purge',
    services: [
      { ...DR_SERVICE, scheduler: 'wrr', realServers: [{ address: '172.25.7.4', weight: 2 }, { address: '172.25.7.5' }] },
      { protocol: 'fwmark', fwmark: 1, scheduler: 'rr', persistent: 300, realServers: [{ address: '172.25.7.3' }] },
      { protocol: 'udp', address: '172.25.7.200', port: 53, scheduler: 'rr', realServers: [{ address: '172.25.7.3' }] },
    ],
  };
  const p = plan(declared, DR_SN + NAT_SN);
  t.is(
    kernelBatch(p.changes),
    [
      '-a -t 172.25.7.200:80 -r 172.25.7.5:80 -g -w 1',
      '-A -u 172.25.7.200:53 -s rr',
      '-a -u 172.25.7.200:53 -r 172.25.7.3:53 -g -w 1',
      '-A -f 1 -s rr -p 300',
      '-a -f 1 -r 172.25.7.3:0 -g -w 1',
      '-E -t 172.25.7.200:80 -s wrr',
      '-e -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 2',
      '-d -t 172.25.7.200:80 -r 172.25.7.3:80',
      '-D -t 172.25.254.100:80',
      '',
    ].join('\n'),
  );
});

test('plan: declaring the fixture table is converged; undeclared ops and scheduler flags are edits or reports', (t) => {
  const sn = fixture('save-all.txt');
  const rs = (port: number, forwarding = 'dr', ...more: object[]) =>
    ['172.25.7.3', '172.25.7.4'].map((address, i) => ({ address, port, forwarding, ...(more[i] ?? {}) }));
  const sched = ['lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf'].map((scheduler, i) => ({
    address: '172.25.7.201',
    port: 8001 + i,
    scheduler,
    realServers: [{ address: '172.25.7.3' }],
  }));
  const declared = {
    services: [
      { address: '172.25.7.100', port: 80, scheduler: 'rr', realServers: rs(80, 'tun') },
      { address: '172.25.7.200', port: 80, scheduler: 'rr', realServers: rs(80) },
      { address: '172.25.7.200', port: 443, scheduler: 'wrr', persistent: 600, netmask: '255.255.255.0', realServers: rs(443, 'dr', { weight: 3 }) },
      ...sched.filter((s) => s.scheduler !== 'sh'),
      { address: '172.25.7.201', port: 8011, scheduler: 'mh' },
      { address: '172.25.7.202', port: 80, realServers: [{ address: '127.0.0.1' }, { address: '172.25.7.3' }] },
      { address: '172.25.254.100', port: 80, scheduler: 'rr', realServers: [{ address: '172.25.7.3', forwarding: 'nat' }, { address: '172.25.7.4', port: 8080, forwarding: 'nat', weight: 2 }] },
      { protocol: 'udp', address: '172.25.7.200', port: 5060, scheduler: 'rr', persistent: true, pe: 'sip', realServers: [{ address: '172.25.7.3' }] },
      { protocol: 'fwmark', fwmark: 1, scheduler: 'rr', persistent: 300, realServers: rs(0) },
      { protocol: 'fwmark', fwmark: 2, realServers: [{ address: '172.25.7.3', port: 80, forwarding: 'nat', weight: 2 }] },
    ],
  };
  const p = plan(declared, sn);
  t.deepEqual(p.changes, []);
  t.is(p.msg, '2 virtual service(s) not declared, left in place: tcp:172.25.7.201:8006, udp:172.25.7.200:53');
  t.is(p.after, sn.replaceAll(' --tun-type ipip', ''));

  const withOps = { services: [{ protocol: 'udp', address: '172.25.7.200', port: 53, scheduler: 'rr', realServers: rs(53) }], policy: 'keep' };
  t.is(kernelBatch(plan(withOps, sn).changes), '-E -u 172.25.7.200:53 -s rr\n');
});

test('plan: thresholds are compared only where declared, and shown only there', (t) => {
  const a = args(withServer(0, { uThreshold: 100, lThreshold: 50 }));
  const table = parseSave(DR_SN.replace('172.25.7.3:80 -g -w 1', '172.25.7.3:80 -g -w 1 -x 100 -y 10').replace('172.25.7.4:80 -g -w 1', '172.25.7.4:80 -g -w 1 -x 7 -y 7'));
  const p = ipvs.plan(a, { raw: DR_SN, table }, {} as ModuleContext);
  t.is(kernelBatch(p.changes), '-e -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1 -x 100 -y 50\n');
  t.true(p.before.includes('-r 172.25.7.3:80 -g -w 1 -x 100 -y 10\n'));
  t.true(p.before.includes('-r 172.25.7.4:80 -g -w 1\n'));
});

test('plan: save file absent, stale or current', (t) => {
  const save = { ...DR, save: { path: '/etc/sysconfig/ipvsadm' } };
  const absent = plan(save, DR_SN, null);
  t.deepEqual(absent.changes, [{ kind: 'save', path: '/etc/sysconfig/ipvsadm' }]);
  t.true(absent.before.endsWith('# /etc/sysconfig/ipvsadm: (absent)\n'));
  t.true(absent.after.endsWith('# /etc/sysconfig/ipvsadm: same as ipvsadm -Sn\n'));
  t.deepEqual(plan(save, DR_SN, '-A -t 172.25.7.200:80 -s rr\n').changes.map((c) => c.kind), ['save']);
  t.deepEqual(plan(save, DR_SN, DR_SN).changes, []);
  t.deepEqual(plan(withServer(0, { weight: 5 }), DR_SN, DR_SN).changes.map((c) => c.kind), ['edit-server']);
  t.deepEqual(plan({ ...withServer(0, { weight: 5 }), save: {} }, DR_SN, DR_SN).changes.map((c) => c.kind), ['edit-server', 'save']);
});

// ---------------------------------------------------------------- read and apply through ctx.exec

test('read: one ipvsadm -Sn per run, shared by every ipvs task of the run', async (t) => {
  const fake = new FakeIpvs(DR_SN);
  const ctx = await context(fake);
  const a = args(DR);
  const first = await ipvs.read(a, ctx);
  await ipvs.read(args({ ...DR, policy: 'keep' }), ctx);
  t.deepEqual(fake.calls, [{ args: ['-Sn'] }]);
  t.is(first.raw, DR_SN);
  t.is(first.table.services.length, 1);
});

test('read: thresholds are read (once) only when a real server declares one', async (t) => {
  const fake = new FakeIpvs(DR_SN);
  fake.table.services[0].realServers[0].uThreshold = 100;
  const ctx = await context(fake);
  const a = args(withServer(0, { uThreshold: 100 }));
  const cur = await ipvs.read(a, ctx);
  await ipvs.read(a, ctx);
  t.deepEqual(fake.calls.map((c) => c.args.join(' ')), ['-Sn', '-L -n --thresholds']);
  t.is(cur.table.services[0].realServers[0].uThreshold, 100);
  t.deepEqual(ipvs.plan(a, cur, ctx).changes, []);
});

test('read: a missing ipvsadm or kernel module is a clear error, and not cached', async (t) => {
  let calls = 0;
  const exec: Exec = async () => {
    calls++;
    return { code: 2, stdout: '', stderr: "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", ms: 0 };
  };
  const ctx = { root: '/', check: false, exec, facts: {} as HostFacts, kernel: new KernelState({ exec }) };
  await t.throwsAsync(ipvs.read(args(DR), ctx), { message: /^ipvsadm -Sn: exit 2: Can't initialize ipvs: Protocol not available \| Are you sure/ });
  await t.throwsAsync(ipvs.read(args(DR), ctx));
  t.is(calls, 2);
  const missing: Exec = async () => ({ code: 127, stdout: '', stderr: 'ipvsadm: command not found', ms: 0 });
  await t.throwsAsync(ipvs.read(args(DR), { ...ctx, exec: missing, kernel: new KernelState({ exec: missing }) }), { message: 'ipvsadm is not installed' });
});

async function run(a: Args, ctx: ModuleContext) {
  const cur = await ipvs.read(a, ctx);
  const p = ipvs.plan(a, cur, ctx);
  if (p.changes.length) await ipvs.apply(a, p.changes, ctx);
  return p;
}

test('apply: one ipvsadm -R with the planned batch on stdin, then the table is read back', async (t) => {
  const fake = new FakeIpvs(DR_SN + NAT_SN);
  const ctx = await context(fake);
  const a = args({ ...withServer(1, { weight: 3 }), policy: 'purge' });
  await run(a, ctx);
  t.deepEqual(fake.calls, [
    { args: ['-Sn'] },
    { args: ['-R'], input: '-e -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 3\n-D -t 172.25.254.100:80\n' },
    { args: ['-Sn'] },
  ]);
  t.is(fake.save(), DR_SN.replace('172.25.7.4:80 -g -w 1', '172.25.7.4:80 -g -w 3'));
});

test('apply twice: the second run plans nothing (fake kernel, every kind of change)', async (t) => {
  const fake = new FakeIpvs(fixture('save-all.txt'));
  const a = args({
    policy: 'purge',
    services: [
      { ...DR_SERVICE, scheduler: 'wrr', persistent: 60, realServers: [{ address: '172.25.7.4', weight: 2, uThreshold: 10 }, { address: '172.25.7.5' }] },
      { address: '172.25.7.100', port: 80, scheduler: 'rr', realServers: [{ address: '172.25.7.3', forwarding: 'nat' }, { address: '172.25.7.4', forwarding: 'tun' }] },
      { protocol: 'fwmark', fwmark: 1, scheduler: 'rr', persistent: 300, realServers: [{ address: '172.25.7.3' }] },
      { protocol: 'udp', address: '172.25.7.200', port: 53, scheduler: 'sh', realServers: [{ address: '172.25.7.3' }] },
    ],
  });
  const first = await run(a, await context(fake));
  t.true(first.changes.length > 10);
  const second = await run(a, await context(fake));
  t.deepEqual(second.changes, []);
  t.deepEqual(fake.table.services.map(serviceKey).sort(), ['fwm:1', 'tcp:172.25.7.100:80', 'tcp:172.25.7.200:80', 'udp:172.25.7.200:53']);
});

test('apply: a line the kernel refuses fails the task with what still differs', async (t) => {
  const fake = new FakeIpvs(DR_SN);
  fake.refuse.add('-e -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 5');
  const a = args({ services: [{ ...DR_SERVICE, realServers: [{ address: '172.25.7.3', weight: 5 }, { address: '172.25.7.4', weight: 6 }] }] });
  // the refused line is not the last one, so ipvsadm -R exits 0: only the read-back catches it
  await t.throwsAsync(run(a, await context(fake)), {
    message: 'ipvsadm -R: exit 0: Invalid operation; still differs: -e -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 5',
  });
});

test('apply: save writes the new ipvsadm -Sn under the agent root, atomically; then nothing to do', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ipvs-'));
  const fake = new FakeIpvs('');
  const a = args({ ...withServer(1, { forwarding: 'tun' }), save: { path: '/etc/sysconfig/ipvsadm' } });
  await run(a, await context(fake, root));
  const saved = await readFile(path.join(root, 'etc/sysconfig/ipvsadm'), 'utf8');
  t.is(saved, fake.save());
  t.true(saved.includes('-r 172.25.7.4:80 -i -w 1 --tun-type ipip\n'));
  t.deepEqual((await run(a, await context(fake, root))).changes, []);

  // a stale save file alone is a change of its own, fixed without touching the kernel
  await writeFile(path.join(root, 'etc/sysconfig/ipvsadm'), '-A -t 172.25.7.200:80 -s rr\n');
  fake.calls = [];
  const p = await run(a, await context(fake, root));
  t.deepEqual(p.changes.map((c) => c.kind), ['save']);
  t.deepEqual(fake.calls.map((c) => c.args.join(' ')), ['-Sn']);
  t.is(await readFile(path.join(root, 'etc/sysconfig/ipvsadm'), 'utf8'), fake.save());
});

test('runner: report policy gives status ok with the msg and, with --diff, the table', async (t) => {
  const fake = new FakeIpvs(DR_SN + NAT_SN);
  const root = await mkdtemp(path.join(os.tmpdir(), 'ipvs-'));
  await mkdir(path.join(root, 'etc'), { recursive: true });
  const results: TaskResult[] = [];
  await runTasks(
    [{ name: 'lvs dr', module: 'ipvs', args: DR }, { name: 'weight', module: 'ipvs', args: { ...withServer(0, { weight: 2 }), policy: 'keep' } }],
    new Map([['ipvs', ipvs]]),
    await context(fake, root),
    { check: false, diff: true },
    (r) => results.push(r),
  );
  t.like(results[0], { status: 'ok', msg: '1 virtual service(s) not declared, left in place: tcp:172.25.254.100:80' });
  t.is(results[0].diff?.after, DR_SN + NAT_SN);
  t.like(results[1], { status: 'changed' });
  t.is(results[1].msg, undefined);
  // both tasks shared the first read; the second invalidated it after -R and read it back
  t.deepEqual(fake.calls.map((c) => c.args.join(' ')), ['-Sn', '-R', '-Sn']);
});

test('runner: check mode plans but sends no -R', async (t) => {
  const fake = new FakeIpvs('');
  const results: TaskResult[] = [];
  await runTasks([{ name: 'lvs', module: 'ipvs', args: DR }], new Map([['ipvs', ipvs]]), await context(fake), { check: true, diff: true }, (r) =>
    results.push(r),
  );
  t.like(results[0], { status: 'changed', diff: { before: '# no virtual services\n', after: DR_SN } });
  t.deepEqual(fake.calls.map((c) => c.args.join(' ')), ['-Sn']);
});

test('runner: invalid arguments fail before anything runs', async (t) => {
  const fake = new FakeIpvs('');
  const results: TaskResult[] = [];
  await runTasks([{ name: 'lvs', module: 'ipvs', args: withServer(0, { weight: 70000 }) }], new Map([['ipvs', ipvs]]), await context(fake), { check: true, diff: false }, (r) =>
    results.push(r),
  );
  t.like(results[0], { status: 'failed', msg: 'invalid arguments: services.0.realServers.0.weight: weight must be 0-65535' });
  t.deepEqual(fake.calls, []);
});
