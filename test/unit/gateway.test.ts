import test from 'ava';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import gateway, { connectedDevice, gatewayStyle } from '../../agent/modules/gateway.js';
import { parseRoutes } from '../../agent/kstate/ip-route.js';
import { prepare } from '../../agent/runner.js';
import { ctxFor, facts, fakeExec, tempRoot } from '../helpers/fake-ctx.js';

/** Real `ip -4 -j route show table all type unicast` output captured by test/fixtures/address/capture.sh. */
const dump = (scene: string) => readFileSync(new URL(`../../../test/fixtures/route/${scene}.json`, import.meta.url), 'utf8');
const args = (a: Record<string, unknown>) => gateway.schema.parse(a);
const cmds = (calls: { file: string; args: string[] }[]) => calls.map((c) => [c.file, ...c.args].join(' '));

const RHEL6 = facts({ os: { ...facts().os, distro: 'Red Hat Enterprise Linux Server', release: '6.5', major: 6 }, initSystem: 'sysv', pkgManager: 'yum' });
const RHEL8 = facts({ os: { ...facts().os, release: '8.9', major: 8 } });
const DEBIAN = facts({ os: { ...facts().os, distro: 'Debian GNU/Linux', major: 12, family: 'debian' } });
const NETWORK = 'NETWORKING=yes\nHOSTNAME=server3\n';
const IFCFG = 'DEVICE=eth0\nBOOTPROTO=static\nIPADDR=172.25.7.3\nPREFIX=24\nONBOOT=yes\n';

/** A temp --root holding the given files, and a context whose `ip` answers from a route fixture. */
async function host(t: { teardown: (fn: () => void) => void }, scene: string, files: Record<string, string>, hostFacts = RHEL6, answers: Record<string, object> = {}) {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  for (const [p, text] of Object.entries(files)) {
    await fs.mkdir(path.join(root, path.dirname(p)), { recursive: true });
    await fs.writeFile(path.join(root, p), text);
  }
  const exec = fakeExec({ 'ip -4 -j route show table all type unicast': { stdout: dump(scene) }, ...answers });
  return { root, exec, ctx: ctxFor(root, { exec, facts: { ...hostFacts, root } }) };
}

test('gatewayStyle: RHEL 6 and SysV use sysconfig/network, RHEL 7/8 ifcfg, RHEL 9 with systemd nmcli, an override wins', (t) => {
  t.is(gatewayStyle(RHEL6), 'network');
  t.is(gatewayStyle(facts({ os: { ...facts().os, major: 6 } })), 'network');
  t.is(gatewayStyle(facts({ os: { ...facts().os, release: '7.9', major: 7 } })), 'ifcfg');
  t.is(gatewayStyle(RHEL8), 'ifcfg');
  t.is(gatewayStyle(facts()), 'nmcli', 'RHEL 9.4, systemd');
  t.is(gatewayStyle(facts({ os: { ...facts().os, release: '10.0', major: 10 } })), 'nmcli');
  t.is(gatewayStyle(facts({ initSystem: 'none' })), 'ifcfg', 'RHEL 9 without systemd (a container)');
  t.is(gatewayStyle(facts({ initSystem: 'sysv' })), 'network');
  t.is(gatewayStyle(RHEL8, 'network'), 'network');
  t.is(gatewayStyle(RHEL8, 'nmcli'), 'nmcli');
  t.is(gatewayStyle(facts(), 'ifcfg'), 'ifcfg');
  t.is(gatewayStyle(DEBIAN, 'ifcfg'), 'ifcfg');
  t.throws(() => gatewayStyle(DEBIAN), { message: /Debian GNU\/Linux: set style: network, ifcfg or nmcli/ });
});

test('connectedDevice finds the device of the most specific connected route', (t) => {
  t.is(connectedDevice(parseRoutes(dump('director')), '172.25.7.1'), 'eth0');
  t.is(connectedDevice(parseRoutes(dump('dr-realserver')), '172.25.7.2'), 'eth0');
  t.is(connectedDevice(parseRoutes(dump('dr-realserver')), '10.0.0.1'), undefined);
});

test('RHEL 6: GATEWAY= in /etc/sysconfig/network and the live default route, both planned', async (t) => {
  const { ctx } = await host(t, 'tun-director', { '/etc/sysconfig/network': NETWORK });
  const a = args({ address: '172.25.7.2' });
  const p = gateway.plan(a, await gateway.read(a, ctx), ctx);
  t.deepEqual(p.changes, [
    { kind: 'file', path: '/etc/sysconfig/network', change: { kind: 'write', text: NETWORK + 'GATEWAY=172.25.7.2\n' } },
    { kind: 'route', change: { kind: 'replace', route: { table: 'main', dst: 'default', gateway: '172.25.7.2', metric: 0, scope: 'global' } } },
  ]);
  t.is(p.before, '/etc/sysconfig/network: GATEWAY=(unset)\nlive:\n  default (no route)\n');
  t.is(p.after, '/etc/sysconfig/network: GATEWAY=172.25.7.2\nlive:\n  default via 172.25.7.2\n');
});

test('RHEL 6: converged when the file and the live route agree', async (t) => {
  const { ctx } = await host(t, 'dr-realserver', { '/etc/sysconfig/network': NETWORK + 'GATEWAY=172.25.7.2\n' });
  const a = args({ address: '172.25.7.2' });
  t.deepEqual(gateway.plan(a, await gateway.read(a, ctx), ctx).changes, []);
});

test('RHEL 8: GATEWAY= goes to ifcfg of the device that reaches it', async (t) => {
  // In the drift scene eth0 is down: no connected route, so no device to tell.
  const { ctx } = await host(t, 'drift', {}, RHEL8);
  const a = args({ address: '172.25.7.2' });
  t.is((await gateway.read(a, ctx)).path, undefined);
  const { ctx: c2 } = await host(t, 'dr-realserver', { '/etc/sysconfig/network-scripts/ifcfg-eth0': IFCFG }, RHEL8);
  const p = gateway.plan(a, await gateway.read(a, c2), c2);
  t.deepEqual(p.changes, [
    { kind: 'file', path: '/etc/sysconfig/network-scripts/ifcfg-eth0', change: { kind: 'write', text: IFCFG + 'GATEWAY=172.25.7.2\n' } },
  ]);
});

test('ifcfg style refuses to create a profile and needs a device it can tell', async (t) => {
  const { ctx } = await host(t, 'dr-realserver', {}, RHEL8, { 'nmcli --version': { code: 127, stderr: 'nmcli: command not found' } });
  const a = args({ address: '172.25.7.2' });
  t.throws(() => gateway.plan(a, { ...{ style: 'ifcfg' as const, path: '/etc/sysconfig/network-scripts/ifcfg-eth0' }, file: { text: null }, routes: [] }, ctx), {
    message: /ifcfg-eth0 does not exist \(is the profile a NetworkManager keyfile\?\): create the ifcfg profile or set style: nmcli or network/,
  });
  const far = args({ address: '10.0.0.1' });
  t.throws(() => gateway.plan(far, { style: 'ifcfg', file: { text: null }, routes: [] }, ctx), { message: /no connected route reaches gateway 10\.0\.0\.1.*set device/ });
  const explicit = args({ address: '10.0.0.1', device: 'eth0', state: 'absent' });
  t.is((await gateway.read(explicit, ctx)).path, '/etc/sysconfig/network-scripts/ifcfg-eth0');
});

test('absent removes our gateway only, in the file and live', async (t) => {
  const { ctx } = await host(t, 'dr-realserver', { '/etc/sysconfig/network': NETWORK + 'GATEWAY=172.25.7.9\n' });
  const other = args({ address: '172.25.7.9', state: 'absent' });
  const p = gateway.plan(other, await gateway.read(other, ctx), ctx);
  t.deepEqual(
    p.changes.map((c) => c.kind),
    ['file'],
    'the live default via 172.25.7.2 is not ours',
  );
  const mine = args({ address: '172.25.7.2', state: 'absent' });
  const q = gateway.plan(mine, await gateway.read(mine, ctx), ctx);
  t.deepEqual(
    q.changes.map((c) => c.kind),
    ['route'],
    'GATEWAY=172.25.7.9 in the file is not ours',
  );
  t.is(q.after, '/etc/sysconfig/network: GATEWAY=172.25.7.9\nlive:\n  default (no route)\n');
});

test('apply writes the file under --root and sets the live route; reads are cached', async (t) => {
  const { root, exec, ctx } = await host(t, 'drift', { '/etc/sysconfig/network': NETWORK });
  const a = args({ address: '172.25.7.2', device: 'eth0' });
  const cur = await gateway.read(a, ctx);
  await gateway.read(a, ctx);
  await gateway.apply(a, gateway.plan(a, cur, ctx).changes, ctx);
  t.is(await fs.readFile(path.join(root, 'etc/sysconfig/network'), 'utf8'), NETWORK + 'GATEWAY=172.25.7.2\n');
  t.deepEqual(cmds(exec.calls), ['ip -4 -j route show table all type unicast', 'ip route replace default via 172.25.7.2 dev eth0 table main metric 100']);
});

const modules = new Map([['gateway', gateway]]);
const invalid = (a: Record<string, unknown>) => prepare([{ name: 't', module: 'gateway', args: a }], modules)[0].error ?? '';

test('schema: bad arguments are refused with the field named', (t) => {
  t.regex(invalid({ address: '172.25.7.2/24' }), /address: must be an IPv4 address/);
  t.regex(invalid({ address: '172.25.7.2', device: 'eth0:0' }), /device: must be a device name like eth0 or tunl0, without a :label/);
  t.regex(invalid({ address: '172.25.7.2', device: 'eth0;reboot' }), /device: /);
  t.regex(invalid({ address: '172.25.7.2', device: '..' }), /device: must not be \. or \.\./);
  t.regex(invalid({ address: '172.25.7.2', style: 'keyfile' }), /style: /);
  t.is(invalid({ address: '172.25.7.2', style: 'nmcli' }), '');
  t.regex(invalid({ address: '172.25.7.2', gw: '1.1.1.1' }), /Unrecognized key.*gw/);
  t.is(invalid({ address: '172.25.7.2' }), '');
});
