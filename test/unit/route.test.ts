import test from 'ava';
import { readFileSync } from 'node:fs';
import route, { covers, formatRoute, planRoute } from '../../agent/modules/route.js';
import { IP_ROUTE_COMMAND, parseRoutes } from '../../agent/kstate/ip-route.js';
import { prepare, runOne } from '../../agent/runner.js';
import { ctxFor, fakeExec } from '../helpers/fake-ctx.js';

/** Real `ip -4 -j route show table all type unicast` output captured by test/fixtures/address/capture.sh. */
const dump = (scene: string) => readFileSync(new URL(`../../../test/fixtures/route/${scene}.json`, import.meta.url), 'utf8');
const routes = (scene: string) => parseRoutes(dump(scene));
const args = (a: Record<string, unknown>) => route.schema.parse(a);
const planOn = (scene: string, a: Record<string, unknown>) => planRoute(args(a), routes(scene));
const cmds = (calls: { file: string; args: string[] }[]) => calls.map((c) => [c.file, ...c.args].join(' '));

test('parseRoutes keeps unicast routes of every table in canonical form', (t) => {
  // eth0.100 is down in that scene, so its prefix route is not there.
  t.deepEqual(routes('director'), [
    { table: '100', dst: 'default', gateway: '172.25.7.1', dev: 'eth0', metric: 0, scope: 'global' },
    { table: 'main', dst: 'default', gateway: '172.25.7.1', dev: 'eth0', metric: 0, scope: 'global' },
    { table: 'main', dst: '10.9.0.0/16', gateway: '172.25.7.9', dev: 'eth0', metric: 50, scope: 'global' },
    { table: 'main', dst: '10.9.0.0/16', gateway: '172.25.7.8', dev: 'eth0', metric: 100, scope: 'global' },
    { table: 'main', dst: '172.25.7.0/24', dev: 'eth0', metric: 0, src: '172.25.7.2', scope: 'link' },
    { table: 'main', dst: '172.25.254.0/24', dev: 'eth0', metric: 0, src: '172.25.254.100', scope: 'link' },
  ]);
  t.deepEqual(routes('fresh'), []);
  t.deepEqual(routes('dr-realserver').find((r) => r.dev === 'lo'), { table: 'main', dst: '172.25.7.200/32', dev: 'lo', metric: 0, scope: 'link' });
});

test('parseRoutes drops local and broadcast entries should they come through', (t) => {
  // Two entries of the local table as iproute2 6.1 prints them without `type unicast`.
  const local =
    '[{"type":"local","dst":"172.25.7.200","dev":"lo","table":"local","protocol":"kernel","scope":"host","prefsrc":"172.25.7.200","flags":[]},' +
    '{"type":"broadcast","dst":"172.25.7.255","dev":"eth0","table":"local","protocol":"kernel","scope":"link","prefsrc":"172.25.7.3","flags":[]},' +
    '{"dst":"172.25.7.200","dev":"lo","scope":"link","flags":[]}]';
  t.deepEqual(parseRoutes(local), [{ table: 'main', dst: '172.25.7.200/32', dev: 'lo', metric: 0, scope: 'link' }]);
});

test('text where JSON was asked for (iproute2 without -j support) is one clear error', (t) => {
  // What `ip -json route` printed on iproute2 4.15 (Ubuntu 18.04): text, the option ignored.
  t.throws(() => parseRoutes('default via 172.25.7.2 dev eth0\n'), { message: /did not print a JSON array: iproute2 too old for -j\?/ });
  t.throws(() => parseRoutes('{}'), { message: /did not print a JSON array/ });
});

test('formatRoute prints ip route syntax', (t) => {
  const [t100, main, m50] = routes('director');
  t.is(formatRoute(main), 'default via 172.25.7.1 dev eth0');
  t.is(formatRoute(t100), 'default via 172.25.7.1 dev eth0 table 100');
  t.is(formatRoute(m50), '10.9.0.0/16 via 172.25.7.9 dev eth0 metric 50');
  t.is(formatRoute(routes('dr-realserver').find((r) => r.dev === 'lo')!), '172.25.7.200/32 dev lo');
});

test('plan: the DR host route given as `dev lo:0` is converged, with a note about the label', (t) => {
  const p = planOn('dr-realserver', { destination: '172.25.7.200', device: 'lo:0' });
  t.deepEqual(p.changes, []);
  t.is(p.msg, 'lo:0 is an address label, not a device: the route uses device lo');
  t.is(p.before, '172.25.7.200/32 dev lo\n');
});

test('plan: a missing host route is added on the device, scope link', (t) => {
  const p = planOn('tun-director', { destination: '172.25.7.200/32', device: 'lo' });
  t.deepEqual(p.changes, [{ kind: 'replace', route: { table: 'main', dst: '172.25.7.200/32', dev: 'lo', metric: 0, scope: 'link' } }]);
  t.is(p.before, '172.25.7.200/32 (no route)\n');
  t.is(p.after, '172.25.7.200/32 dev lo\n');
});

test('plan: a default route via another gateway is replaced at its own metric', (t) => {
  const p = planOn('drift', { destination: 'default', gateway: '172.25.7.2' });
  t.deepEqual(p.changes, [{ kind: 'replace', route: { table: 'main', dst: 'default', gateway: '172.25.7.2', metric: 100, scope: 'global' } }]);
  t.is(p.before, 'default via 172.25.7.9 dev lo metric 100\n');
  t.is(p.after, 'default via 172.25.7.2 metric 100\n');
  t.deepEqual(planOn('dr-realserver', { destination: 'default', gateway: '172.25.7.2' }).changes, []);
  t.deepEqual(planOn('dr-realserver', { destination: '0.0.0.0/0', gateway: '172.25.7.2', device: 'eth0' }).changes, []);
  t.is(planOn('dr-realserver', { destination: 'default', gateway: '172.25.7.2', device: 'eth1' }).changes.length, 1);
});

test('plan: without a metric the route in effect counts; with one, that metric only', (t) => {
  t.deepEqual(planOn('director', { destination: '10.9.0.0/16', gateway: '172.25.7.9' }).changes, []);
  t.deepEqual(planOn('director', { destination: '10.9.0.0/16', gateway: '172.25.7.8' }).changes, [
    { kind: 'replace', route: { table: 'main', dst: '10.9.0.0/16', gateway: '172.25.7.8', metric: 50, scope: 'global' } },
  ]);
  t.deepEqual(planOn('director', { destination: '10.9.0.0/16', gateway: '172.25.7.8', metric: 100 }).changes, []);
  t.is(planOn('director', { destination: '10.9.0.0/16', gateway: '172.25.7.8', metric: 7 }).changes.length, 1);
});

test('plan: tables by number or name; a host route must not gain a gateway', (t) => {
  t.deepEqual(planOn('director', { destination: 'default', gateway: '172.25.7.1', table: 100 }).changes, []);
  t.deepEqual(planOn('director', { destination: 'default', gateway: '172.25.7.1', table: 254 }).changes, []);
  t.deepEqual(planOn('director', { destination: 'default', gateway: '172.25.7.1', table: 'main' }).changes, []);
  t.is(planOn('director', { destination: 'default', gateway: '172.25.7.1', table: 101 }).changes.length, 1);
  t.is(planOn('director', { destination: '10.9.0.0/16', device: 'eth0' }).changes.length, 1, 'via a gateway is not dev-only');
  t.is(planOn('director', { destination: '172.25.7.0/24', device: 'eth0', src: '172.25.7.99' }).changes.length, 1);
  t.deepEqual(planOn('director', { destination: '172.25.7.0/24', device: 'eth0', scope: 'link', src: '172.25.7.2' }).changes, []);
});

test('plan: absent deletes the matching routes of its table only', (t) => {
  const p = planOn('director', { destination: 'default', gateway: '172.25.7.1', state: 'absent' });
  t.deepEqual(p.changes, [{ kind: 'del', route: routes('director')[1] }]);
  t.is(p.after, 'default (no route)\n');
  t.is(planOn('director', { destination: '10.9.0.0/16', state: 'absent' }).changes.length, 2);
  t.is(planOn('director', { destination: '10.9.0.0/16', metric: 100, state: 'absent' }).changes.length, 1);
  t.deepEqual(planOn('director', { destination: 'default', gateway: '172.25.7.99', state: 'absent' }).changes, []);
});

test('covers tells whether a destination holds an address', (t) => {
  t.true(covers('172.25.7.0/24', '172.25.7.2'));
  t.false(covers('172.25.7.0/24', '172.25.8.2'));
  t.true(covers('default', '8.8.8.8'));
  t.true(covers('172.25.7.200/32', '172.25.7.200'));
});

test('read is cached per run; apply runs ip route replace/del with the whole key; the runner invalidates', async (t) => {
  const exec = fakeExec({ 'ip -4 -j route show table all type unicast': { stdout: dump('drift') } });
  const ctx = ctxFor('/', { exec });
  const a = args({ destination: 'default', gateway: '172.25.7.2' });
  await route.read(a, ctx);
  await route.read(args({ destination: '172.25.7.200', device: 'lo' }), ctx);
  t.deepEqual(cmds(exec.calls), [`ip ${IP_ROUTE_COMMAND.slice(3)}`]);
  await runOne(route, a, ctx, { check: false, diff: false });
  const gone = args({ destination: 'default', state: 'absent' });
  await runOne(route, gone, ctx, { check: false, diff: false });
  await route.read(a, ctx);
  t.deepEqual(cmds(exec.calls).slice(1), [
    'ip route replace default via 172.25.7.2 table main metric 100',
    'ip -4 -j route show table all type unicast',
    'ip route del default via 172.25.7.9 dev lo table main metric 100',
    'ip -4 -j route show table all type unicast',
  ]);
});

const modules = new Map([['route', route]]);
const invalid = (a: Record<string, unknown>) => prepare([{ name: 't', module: 'route', args: a }], modules)[0].error ?? '';

test('schema: bad arguments are refused with the field named', (t) => {
  t.regex(invalid({ destination: 'defualt', gateway: '172.25.7.2' }), /destination: must be default or an IPv4 address/);
  t.regex(invalid({ destination: '10.9.0.1/16', gateway: '172.25.7.2' }), /destination: has host bits set/);
  t.regex(invalid({ destination: '10.9.0.0/33', gateway: '172.25.7.2' }), /destination: /);
  t.regex(invalid({ destination: 'default' }), /gateway: state=present needs gateway or device/);
  t.regex(invalid({ destination: 'default', gateway: '172.25.7.256' }), /gateway: must be an IPv4 address/);
  t.regex(invalid({ destination: '172.25.7.200', device: 'lo;reboot' }), /device: must be a device name/);
  t.regex(invalid({ destination: 'default', gateway: '172.25.7.2', metric: -1 }), /metric: /);
  t.regex(invalid({ destination: 'default', gateway: '172.25.7.2', table: 'ma in' }), /table: /);
  t.regex(invalid({ destination: 'default', gateway: '172.25.7.2', scope: 'universe' }), /scope: /);
  t.regex(invalid({ destination: 'default', gateway: '172.25.7.2', via: '1.1.1.1' }), /Unrecognized key.*via/);
  t.is(invalid({ destination: 'default', state: 'absent' }), '');
});
