import test from 'ava';
import { readFileSync } from 'node:fs';
import address, { observe } from '../../agent/modules/address.js';
import { IP_ADDR_COMMAND, ipAddrTables, parseLinks } from '../../agent/kstate/ip-addr.js';
import { IP_ROUTE_COMMAND } from '../../agent/kstate/ip-route.js';
import { prepare, runOne } from '../../agent/runner.js';
import { ctxFor, fakeExec } from '../helpers/fake-ctx.js';

/** Real `ip -d -j addr show` output captured by test/fixtures/address/capture.sh. */
const dump = (scene: string) => readFileSync(new URL(`../../../test/fixtures/address/${scene}.json`, import.meta.url), 'utf8');
const links = (scene: string) => ipAddrTables(parseLinks(dump(scene)));
const args = (a: Record<string, unknown>) => address.schema.parse(a);
const ctx = ctxFor('/');
const planOn = (scene: string, a: Record<string, unknown>) => {
  const parsed = args(a);
  return address.plan(parsed, observe(links(scene), parsed.dev), ctx);
};

test('observe reads labels, /32 on lo, secondaries and link state from real output', (t) => {
  t.deepEqual(observe(links('dr-realserver'), 'lo'), {
    dev: 'lo',
    exists: true,
    up: true,
    addrs: [
      { local: '127.0.0.1', prefixlen: 8, label: 'lo', secondary: false },
      { local: '172.25.7.200', prefixlen: 32, label: 'lo:0', secondary: false },
    ],
  });
  const eth0 = observe(links('tun-director'), 'eth0');
  t.deepEqual(eth0.addrs[1], { local: '172.25.7.100', prefixlen: 24, label: 'eth0:0', secondary: true });
  t.false(observe(links('fresh'), 'lo').up);
  t.false(observe(links('fresh'), 'eth0').exists);
});

test('observe reads tunl0 (hand-written ipip shape) like any device', (t) => {
  const tunl0 = observe(ipAddrTables(parseLinks(readFileSync(new URL('../../../test/fixtures/tunnel/tun-realserver.json', import.meta.url), 'utf8'))), 'tunl0');
  t.true(tunl0.up);
  t.deepEqual(tunl0.addrs, [{ local: '172.25.7.100', prefixlen: 32, label: 'tunl0', secondary: false }]);
});

test('plan: the DR VIP on lo:0 is converged on the DR real server', (t) => {
  const p = planOn('dr-realserver', { address: '172.25.7.200/32', device: 'lo:0' });
  t.deepEqual(p.changes, []);
  t.is(p.before, 'lo: up\n  inet 127.0.0.1/8\n  inet 172.25.7.200/32 label lo:0\n');
  t.is(p.after, p.before);
});

test('plan: a fresh namespace gets the address with its label and lo brought up', (t) => {
  const p = planOn('fresh', { address: '172.25.7.200', device: 'lo:0' });
  t.deepEqual(p.changes, [{ kind: 'add', ip: '172.25.7.200', prefix: 32, label: 'lo:0' }, { kind: 'up' }]);
  t.is(p.before, 'lo: down\n');
  t.is(p.after, 'lo: up\n  inet 172.25.7.200/32 label lo:0\n');
  t.deepEqual(planOn('fresh', { address: '172.25.7.200', device: 'lo', up: false }).changes, [{ kind: 'add', ip: '172.25.7.200', prefix: 32 }]);
});

test('plan: the wrong prefix and label are replaced (delete, then add)', (t) => {
  const p = planOn('drift', { address: '172.25.7.200/32', device: 'lo', label: 'lo:0' });
  t.deepEqual(p.changes, [
    { kind: 'del', ip: '172.25.7.200', prefix: 24 },
    { kind: 'add', ip: '172.25.7.200', prefix: 32, label: 'lo:0' },
  ]);
  t.is(p.before, 'lo: up\n  inet 127.0.0.1/8\n  inet 172.25.7.200/24\n');
  t.is(p.after, 'lo: up\n  inet 127.0.0.1/8\n  inet 172.25.7.200/32 label lo:0\n');
});

test('plan: a label-only difference is replaced; no label asked means any label is fine', (t) => {
  t.deepEqual(planOn('dr-realserver', { address: '172.25.7.200/32', device: 'lo:1' }).changes, [
    { kind: 'del', ip: '172.25.7.200', prefix: 32 },
    { kind: 'add', ip: '172.25.7.200', prefix: 32, label: 'lo:1' },
  ]);
  t.deepEqual(planOn('dr-realserver', { address: '172.25.7.200/32', device: 'lo' }).changes, []);
});

test('plan: the NAT VIP as eth0:0 secondary; a down device is brought up', (t) => {
  t.deepEqual(planOn('director', { address: '172.25.254.100/24', device: 'eth0:0' }).changes, []);
  t.deepEqual(planOn('drift', { address: '172.25.7.3/24', device: 'eth0' }).changes, [{ kind: 'up' }]);
});

test('plan: absent deletes every prefix of the address, and warns when secondaries go too', (t) => {
  const vip = planOn('tun-director', { address: '172.25.7.100/24', device: 'eth0:0', state: 'absent' });
  t.deepEqual(vip.changes, [{ kind: 'del', ip: '172.25.7.100', prefix: 24 }]);
  t.is(vip.msg, undefined);
  t.is(vip.after, 'eth0: up\n  inet 172.25.7.2/24\n');
  const primary = planOn('tun-director', { address: '172.25.7.2', device: 'eth0', state: 'absent' });
  t.deepEqual(primary.changes, [{ kind: 'del', ip: '172.25.7.2', prefix: 24 }]);
  t.regex(primary.msg ?? '', /secondaries.*172\.25\.7\.100\/24/);
  t.deepEqual(planOn('dr-realserver', { address: '10.1.1.1', device: 'lo', state: 'absent' }).changes, []);
});

test('plan: a missing device fails clearly when present, is fine when absent', (t) => {
  t.throws(() => planOn('dr-realserver', { address: '172.25.7.100', device: 'tunl0' }), { message: /device tunl0 does not exist/ });
  t.deepEqual(planOn('dr-realserver', { address: '172.25.7.100', device: 'tunl0', state: 'absent' }).changes, []);
});

test('read uses the run cache: one `ip` call for many tasks, again after the runner drops what apply touched', async (t) => {
  const addrRead = `ip ${IP_ADDR_COMMAND.slice(3)}`;
  const routeRead = `ip ${IP_ROUTE_COMMAND.slice(3)}`;
  const exec = fakeExec({ [addrRead]: { stdout: dump('drift') }, [routeRead]: { stdout: '[]' } });
  const c = ctxFor('/', { exec });
  const cmds = () => exec.calls.map((x) => [x.file, ...x.args].join(' '));
  const a = args({ address: '172.25.7.200/32', device: 'lo:0' });
  await address.read(a, c);
  await address.read(args({ address: '172.25.7.3/24', device: 'eth0' }), c);
  t.is(exec.calls.length, 1);
  await c.kernel.read('routes');
  await runOne(address, a, c, { check: false, diff: false });
  t.deepEqual(cmds().slice(2), [
    'ip addr del 172.25.7.200/24 dev lo',
    'ip addr add 172.25.7.200/32 brd + dev lo label lo:0',
  ]);
  await address.read(a, c);
  await c.kernel.read('routes');
  t.is(cmds().filter((x) => x === addrRead).length, 2, 'the address table is read again after apply');
  t.is(cmds().filter((x) => x === routeRead).length, 2, 'the route table is invalidated too (addresses bring routes)');
});

test('apply stops at the first failing command and says which', async (t) => {
  const exec = fakeExec({ 'ip link set eth0 up': { code: 2, stderr: 'RTNETLINK answers: Operation not permitted' } });
  const c = ctxFor('/', { exec });
  const a = args({ address: '172.25.7.3/24', device: 'eth0' });
  await t.throwsAsync(address.apply(a, [{ kind: 'up' }], c), { message: /ip link set eth0 up: exit 2: RTNETLINK answers: Operation not permitted/ });
});

const modules = new Map([['address', address]]);
const invalid = (a: Record<string, unknown>) => prepare([{ name: 't', module: 'address', args: a }], modules)[0].error ?? '';

test('schema: bad arguments are refused with the field named', (t) => {
  t.regex(invalid({ address: '172.25.7.300', device: 'lo' }), /^invalid arguments: address: /);
  t.regex(invalid({ address: '172.25.7.200/33', device: 'lo' }), /address: must be an IPv4 address with optional \/prefix/);
  t.regex(invalid({ address: '172.25.7.200', device: 'eth0;reboot' }), /device: must be a device name/);
  t.regex(invalid({ address: '172.25.7.200', device: 'lo', label: 'eth0:0' }), /label: must start with the device name/);
  t.regex(invalid({ address: '172.25.7.200', device: 'lo', label: 'lo:0123456789abc' }), /label: must be at most 15 characters/);
  t.regex(invalid({ address: '172.25.7.200', device: 'lo:0', label: 'lo:1' }), /label: device already names a label/);
  t.regex(invalid({ address: '172.25.7.200', device: 'lo', brd: '+' }), /Unrecognized key.*brd/);
  t.regex(invalid({ address: '172.25.7.200', device: 'lo', state: 'gone' }), /state: /);
  t.regex(invalid({ device: 'lo' }), /address: /);
  t.is(invalid({ address: '172.25.7.200', device: 'lo:0' }), '');
});
