import test from 'ava';
import { readFileSync } from 'node:fs';
import { ipAddrTables, parseLinks } from '../../agent/kstate/ip-addr.js';
import tunnel, { observeTunnel } from '../../agent/modules/tunnel.js';
import { prepare } from '../../agent/runner.js';
import { ctxFor, fakeExec } from '../helpers/fake-ctx.js';

/**
 * tunnel/*.json are hand-written in the shape iproute2 prints for ipip devices (this kernel has
 * no ipip; see test/fixtures/tunnel/README.md); address/*.json are real captures.
 */
const dump = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}.json`, import.meta.url), 'utf8');
const links = (p: string) => ipAddrTables(parseLinks(dump(p)));
const args = (a: Record<string, unknown>) => tunnel.schema.parse(a);
const ctx = ctxFor('/');
const planOn = (p: string, a: Record<string, unknown>) => {
  const parsed = args(a);
  return tunnel.plan(parsed, observeTunnel(links(p), parsed.name), ctx);
};
const cmds = (calls: { file: string; args: string[] }[]) => calls.map((c) => [c.file, ...c.args].join(' '));

test('observeTunnel reads kind, state and endpoints', (t) => {
  t.deepEqual(observeTunnel(links('tunnel/tun-realserver'), 'tunl0'), { name: 'tunl0', exists: true, kind: 'ipip', up: true });
  t.deepEqual(observeTunnel(links('tunnel/tun-realserver'), 'tun1'), {
    name: 'tun1',
    exists: true,
    kind: 'ipip',
    up: true,
    local: '172.25.7.3',
    remote: '172.25.7.2',
  });
  t.deepEqual(observeTunnel(links('tunnel/ipip-loaded'), 'tunl0'), { name: 'tunl0', exists: true, kind: 'ipip', up: false });
  t.deepEqual(observeTunnel(links('address/dr-realserver'), 'tunl0'), { name: 'tunl0', exists: false, up: false });
  t.is(observeTunnel(links('address/dr-realserver'), 'eth0').kind, 'veth');
});

test('plan: no tunl0 -> load ipip (which creates it) and bring it up', (t) => {
  const p = planOn('address/dr-realserver', {});
  t.deepEqual(p.changes, [{ kind: 'load-ipip' }, { kind: 'up' }]);
  t.is(p.before, 'tunl0: (absent)\n');
  t.is(p.after, 'tunl0: ipip up local any remote any\n');
});

test('plan: tunl0 down after modprobe -> up; up -> nothing', (t) => {
  t.deepEqual(planOn('tunnel/ipip-loaded', { name: 'tunl0' }).changes, [{ kind: 'up' }]);
  t.deepEqual(planOn('tunnel/tun-realserver', { name: 'tunl0', state: 'present' }).changes, []);
});

test('plan: a named tunnel is created with its endpoints, modified when they differ', (t) => {
  t.deepEqual(planOn('tunnel/ipip-loaded', { name: 'tun1', local: '172.25.7.3', remote: '172.25.7.2' }).changes, [{ kind: 'add' }, { kind: 'up' }]);
  t.deepEqual(planOn('tunnel/tun-realserver', { name: 'tun1', local: '172.25.7.3', remote: '172.25.7.2' }).changes, []);
  t.deepEqual(planOn('tunnel/tun-realserver', { name: 'tun1' }).changes, [], 'unset endpoints are not managed');
  const p = planOn('tunnel/tun-realserver', { name: 'tun1', remote: '172.25.7.4' });
  t.deepEqual(p.changes, [{ kind: 'modify' }]);
  t.is(p.after, 'tun1: ipip up local 172.25.7.3 remote 172.25.7.4\n');
});

test('plan: a device of another kind under the name fails clearly', (t) => {
  t.throws(() => planOn('address/dr-realserver', { name: 'eth0' }), { message: 'eth0 exists but is a veth device, not an ipip tunnel' });
});

test('plan: absent sets tunl0 down (it cannot be deleted) and deletes other tunnels', (t) => {
  const down = planOn('tunnel/tun-realserver', { state: 'absent' });
  t.deepEqual(down.changes, [{ kind: 'down' }]);
  t.regex(down.msg ?? '', /tunl0 cannot be deleted.*set down/);
  const already = planOn('tunnel/ipip-loaded', { state: 'absent' });
  t.deepEqual(already.changes, []);
  t.regex(already.msg ?? '', /cannot be deleted/);
  t.deepEqual(planOn('tunnel/tun-realserver', { name: 'tun1', state: 'absent' }).changes, [{ kind: 'delete' }]);
  t.deepEqual(planOn('address/dr-realserver', { state: 'absent' }).changes, []);
});

test('apply: modprobe ipip, check tunl0 appeared (a fresh read), bring it up', async (t) => {
  const exec = fakeExec({ 'ip -d -j addr show': { stdout: dump('tunnel/ipip-loaded') } });
  const c = ctxFor('/', { exec });
  await tunnel.apply(args({}), [{ kind: 'load-ipip' }, { kind: 'up' }], c);
  t.deepEqual(cmds(exec.calls), ['modprobe ipip', 'ip -d -j addr show', 'ip link set tunl0 up']);
});

test('apply: a tunl0 that does not appear after modprobe is a clear failure', async (t) => {
  const exec = fakeExec({ 'ip -d -j addr show': { stdout: dump('address/dr-realserver') } });
  await t.throwsAsync(tunnel.apply(args({}), [{ kind: 'load-ipip' }, { kind: 'up' }], ctxFor('/', { exec })), {
    message: /ipip is loaded but tunl0 did not appear/,
  });
  t.deepEqual(cmds(exec.calls), ['modprobe ipip', 'ip -d -j addr show']);
});

test('apply: named tunnels are added, changed and deleted with ip link', async (t) => {
  const exec = fakeExec();
  const c = ctxFor('/', { exec });
  const a = args({ name: 'tun1', local: '172.25.7.3', remote: '172.25.7.2' });
  await tunnel.apply(a, [{ kind: 'add' }, { kind: 'up' }, { kind: 'modify' }, { kind: 'down' }, { kind: 'delete' }], c);
  t.deepEqual(cmds(exec.calls), [
    'ip link add tun1 type ipip local 172.25.7.3 remote 172.25.7.2',
    'ip link set tun1 up',
    'ip link set tun1 type ipip local 172.25.7.3 remote 172.25.7.2',
    'ip link set tun1 down',
    'ip link del tun1',
  ]);
});

const modules = new Map([['tunnel', tunnel]]);
const invalid = (a: Record<string, unknown>) => prepare([{ name: 't', module: 'tunnel', args: a }], modules)[0].error ?? '';

test('schema: bad arguments are refused with the field named', (t) => {
  t.regex(invalid({ name: 'tunl0', local: '172.25.7.3' }), /name: tunl0 is the ipip fallback device and takes no local\/remote/);
  t.regex(invalid({ name: 'tun1;reboot' }), /name: must be a device name/);
  t.regex(invalid({ name: 'tunl0:0' }), /name: .*without a :label/);
  t.regex(invalid({ name: 'tun1', remote: '172.25.7' }), /remote: must be an IPv4 address/);
  t.regex(invalid({ mode: 'gre' }), /Unrecognized key.*mode/);
  t.is(invalid({}), '');
});
