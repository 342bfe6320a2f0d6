import test from 'ava';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { terseValue } from '../../agent/gateway-nm.js';
import gateway from '../../agent/modules/gateway.js';
import { ctxFor, facts, fakeExec, tempRoot } from '../helpers/fake-ctx.js';

/**
 * The gateway module's nmcli style (RHEL 9; RHEL 8 with keyfile profiles). nmcli answers from
 * hand-written fixtures (test/fixtures/gateway/README.md), `ip` from captured route dumps.
 */
const route = (scene: string) => readFileSync(new URL(`../../../test/fixtures/route/${scene}.json`, import.meta.url), 'utf8');
const nm = (f: string) => readFileSync(new URL(`../../../test/fixtures/gateway/${f}`, import.meta.url), 'utf8');
const args = (a: Record<string, unknown>) => gateway.schema.parse(a);
type Call = { file: string; args: string[] };
const nmcliCalls = (calls: Call[]) => calls.filter((c) => c.file === 'nmcli').map((c) => c.args);

const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv', pkgManager: 'yum' });
const RHEL8 = facts({ os: { ...facts().os, release: '8.9', major: 8 } });
const RHEL9 = facts();
const IFCFG = 'DEVICE=eth0\nBOOTPROTO=static\nIPADDR=172.25.7.3\nPREFIX=24\nONBOOT=yes\n';
const IFCFG_PATH = '/etc/sysconfig/network-scripts/ifcfg-eth0';

const ROUTES = 'ip -4 -j route show table all type unicast';
const VERSION = 'nmcli --version';
const UUID_OF = (dev: string) => `nmcli -g GENERAL.CON-UUID device show ${dev}`;
const NAME_OF = (dev: string) => `nmcli -g GENERAL.CONNECTION device show ${dev}`;
const GATEWAY_OF = (uuid: string) => `nmcli -g ipv4.gateway connection show uuid ${uuid}`;
const ETH0_UUID = nm('eth0.con-uuid.txt').trim();
const RACK_UUID = nm('rack.con-uuid.txt').trim();

/** nmcli answers for eth0 with profile `eth0` (or the `rack` one) holding the given gateway fixture. */
function nmAnswers(gatewayFile: string, profile: 'eth0' | 'rack' = 'eth0'): Record<string, object> {
  const uuid = nm(`${profile}.con-uuid.txt`);
  return {
    [VERSION]: { stdout: nm('nmcli-version.txt') },
    [UUID_OF('eth0')]: { stdout: uuid },
    [NAME_OF('eth0')]: { stdout: nm(`${profile}.connection.txt`) },
    [GATEWAY_OF(uuid.trim())]: { stdout: nm(gatewayFile) },
  };
}

async function host(t: { teardown: (fn: () => void) => void }, scene: string, hostFacts = RHEL9, answers: Record<string, object> = {}, files: Record<string, string> = {}) {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  for (const [p, text] of Object.entries(files)) {
    await fs.mkdir(path.join(root, path.dirname(p)), { recursive: true });
    await fs.writeFile(path.join(root, p), text);
  }
  const exec = fakeExec({ [ROUTES]: { stdout: route(scene) }, ...answers });
  return { root, exec, ctx: ctxFor(root, { exec, facts: { ...hostFacts, root } }) };
}

test('terseValue undoes nmcli -g escaping of : and \\ and reads an empty line as unset', (t) => {
  t.is(terseValue(nm('rack.connection.txt')), 'Rack 7: LVS \\ eth0');
  t.is(terseValue(nm('eth0.connection.txt')), 'eth0');
  t.is(terseValue(nm('gateway-172.25.7.2.txt')), '172.25.7.2');
  t.is(terseValue(nm('empty.txt')), '');
  t.is(terseValue('a\\\\\\:b\n'), 'a\\:b', 'an escaped backslash before an escaped colon');
  t.throws(() => terseValue('eth0\nlo\n'), { message: /more than one line/ });
});

test('style from facts: RHEL 6 network, RHEL 8 with ifcfg ifcfg, RHEL 8 without ifcfg but with nmcli nmcli, RHEL 9 nmcli', async (t) => {
  const a = args({ address: '172.25.7.2' });

  const rhel6 = await host(t, 'dr-realserver', RHEL6, nmAnswers('gateway-172.25.7.2.txt'), { '/etc/sysconfig/network': 'NETWORKING=yes\n' });
  t.like(await gateway.read(a, rhel6.ctx), { style: 'network', path: '/etc/sysconfig/network' });
  t.deepEqual(nmcliCalls(rhel6.exec.calls), [], 'RHEL 6: nmcli never asked');

  const withIfcfg = await host(t, 'dr-realserver', RHEL8, nmAnswers('gateway-172.25.7.2.txt'), { [IFCFG_PATH]: IFCFG });
  t.like(await gateway.read(a, withIfcfg.ctx), { style: 'ifcfg', path: IFCFG_PATH });
  t.deepEqual(nmcliCalls(withIfcfg.exec.calls), [], 'RHEL 8 with ifcfg-eth0: nmcli never asked');

  const keyfile = await host(t, 'dr-realserver', RHEL8, nmAnswers('gateway-172.25.7.2.txt'));
  const cur = await gateway.read(a, keyfile.ctx);
  t.is(cur.style, 'nmcli');
  t.is(cur.path, undefined);
  t.deepEqual(cur.nm, { device: 'eth0', connection: { name: 'eth0', uuid: ETH0_UUID, gateway: '172.25.7.2' } });
  t.deepEqual(nmcliCalls(keyfile.exec.calls), [
    ['--version'],
    ['-g', 'GENERAL.CON-UUID', 'device', 'show', 'eth0'],
    ['-g', 'GENERAL.CONNECTION', 'device', 'show', 'eth0'],
    ['-g', 'ipv4.gateway', 'connection', 'show', 'uuid', ETH0_UUID],
  ]);

  const noNmcli = await host(t, 'dr-realserver', RHEL8, { [VERSION]: { code: 127, stderr: 'nmcli: command not found' } });
  const bare = await gateway.read(a, noNmcli.ctx);
  t.like(bare, { style: 'ifcfg', path: IFCFG_PATH });
  t.throws(() => gateway.plan(a, bare, noNmcli.ctx), { message: /ifcfg-eth0 does not exist .*set style: nmcli or network/ });

  // RHEL 9 goes to nmcli without asking for --version, and leaves an ifcfg file alone.
  const rhel9 = await host(t, 'dr-realserver', RHEL9, nmAnswers('gateway-172.25.7.2.txt'), { [IFCFG_PATH]: IFCFG });
  t.like(await gateway.read(a, rhel9.ctx), { style: 'nmcli', nm: { device: 'eth0' } });
  t.false(nmcliCalls(rhel9.exec.calls).some((c) => c[0] === '--version'));
  t.false('path' in (await gateway.read(a, rhel9.ctx)));
});

test('style set in the task wins over facts: nmcli on RHEL 8 with ifcfg, ifcfg on RHEL 8 without asking nmcli', async (t) => {
  const withIfcfg = await host(t, 'dr-realserver', RHEL8, nmAnswers('gateway-172.25.7.2.txt'), { [IFCFG_PATH]: IFCFG });
  t.like(await gateway.read(args({ address: '172.25.7.2', style: 'nmcli' }), withIfcfg.ctx), { style: 'nmcli', nm: { connection: { name: 'eth0' } } });
  const keyfile = await host(t, 'dr-realserver', RHEL8, nmAnswers('gateway-172.25.7.2.txt'));
  t.like(await gateway.read(args({ address: '172.25.7.2', style: 'ifcfg' }), keyfile.ctx), { style: 'ifcfg', path: IFCFG_PATH });
  t.deepEqual(nmcliCalls(keyfile.exec.calls), []);
});

test('converged: the profile and the live route agree, nothing to do', async (t) => {
  const { ctx } = await host(t, 'dr-realserver', RHEL9, nmAnswers('gateway-172.25.7.2.txt'));
  const a = args({ address: '172.25.7.2' });
  const p = gateway.plan(a, await gateway.read(a, ctx), ctx);
  t.deepEqual(p.changes, []);
  t.is(p.before, 'nmcli: eth0 ipv4.gateway = 172.25.7.2\nlive:\n  default via 172.25.7.2 dev eth0\n');
  t.is(p.after, p.before);
});

test('another gateway: exactly one nmcli connection modify, never connection up, then the live route', async (t) => {
  // tun-director: eth0 172.25.7.2/24 connected, no default route live.
  const { exec, ctx } = await host(t, 'tun-director', RHEL9, nmAnswers('gateway-172.25.7.9.txt'));
  const a = args({ address: '172.25.7.1' });
  const p = gateway.plan(a, await gateway.read(a, ctx), ctx);
  t.is(p.before, 'nmcli: eth0 ipv4.gateway = 172.25.7.9\nlive:\n  default (no route)\n');
  t.is(p.after, 'nmcli: eth0 ipv4.gateway = 172.25.7.1\nlive:\n  default via 172.25.7.1\n');
  const reads = exec.calls.length;
  await gateway.apply(a, p.changes, ctx);
  t.deepEqual(
    exec.calls.slice(reads).map((c) => [c.file, ...c.args]),
    [
      ['nmcli', 'connection', 'modify', 'uuid', ETH0_UUID, 'ipv4.gateway', '172.25.7.1'],
      ['ip', 'route', 'replace', 'default', 'via', '172.25.7.1', 'table', 'main', 'metric', '0'],
    ],
  );
  t.false(exec.calls.some((c) => c.file === 'nmcli' && c.args.includes('up')), 'the device is never re-activated');
});

test('absent: our gateway is cleared with ipv4.gateway "" (one argv element), another one is left', async (t) => {
  const { exec, ctx } = await host(t, 'dr-realserver', RHEL9, nmAnswers('gateway-172.25.7.2.txt'));
  const mine = args({ address: '172.25.7.2', state: 'absent' });
  const p = gateway.plan(mine, await gateway.read(mine, ctx), ctx);
  t.is(p.after, 'nmcli: eth0 ipv4.gateway = (unset)\nlive:\n  default (no route)\n');
  const reads = exec.calls.length;
  await gateway.apply(mine, p.changes, ctx);
  t.deepEqual(
    exec.calls.slice(reads).map((c) => [c.file, ...c.args]),
    [
      ['nmcli', 'connection', 'modify', 'uuid', ETH0_UUID, 'ipv4.gateway', ''],
      ['ip', 'route', 'del', 'default', 'via', '172.25.7.2', 'dev', 'eth0', 'table', 'main', 'metric', '0'],
    ],
  );

  const other = args({ address: '172.25.7.9', state: 'absent' });
  const q = gateway.plan(other, await gateway.read(other, ctx), ctx);
  t.deepEqual(q.changes, [], 'neither the profile nor the live route holds 172.25.7.9');
  t.is(q.after, 'nmcli: eth0 ipv4.gateway = 172.25.7.2\nlive:\n  default via 172.25.7.2 dev eth0\n');
});

test('a connection named with spaces, a colon and a backslash: unescaped for the diff, the profile named by UUID', async (t) => {
  const { exec, ctx } = await host(t, 'dr-realserver', RHEL9, nmAnswers('empty.txt', 'rack'));
  const a = args({ address: '172.25.7.2' });
  const cur = await gateway.read(a, ctx);
  t.deepEqual(cur.nm?.connection, { name: 'Rack 7: LVS \\ eth0', uuid: RACK_UUID, gateway: null });
  const p = gateway.plan(a, cur, ctx);
  t.is(p.before, 'nmcli: Rack 7: LVS \\ eth0 ipv4.gateway = (unset)\nlive:\n  default via 172.25.7.2 dev eth0\n');
  t.is(p.after, 'nmcli: Rack 7: LVS \\ eth0 ipv4.gateway = 172.25.7.2\nlive:\n  default via 172.25.7.2 dev eth0\n');
  const reads = exec.calls.length;
  await gateway.apply(a, p.changes, ctx);
  t.deepEqual(exec.calls.slice(reads), [{ file: 'nmcli', args: ['connection', 'modify', 'uuid', RACK_UUID, 'ipv4.gateway', '172.25.7.2'] }]);
});

test('no connection on the device, or no such device: present fails naming the device, absent has nothing to clear', async (t) => {
  const none = { ...nmAnswers('empty.txt'), [UUID_OF('eth0')]: { stdout: nm('empty.txt') } };
  const { exec, ctx } = await host(t, 'dr-realserver', RHEL9, none);
  const a = args({ address: '172.25.7.2' });
  const cur = await gateway.read(a, ctx);
  t.deepEqual(cur.nm, { device: 'eth0', connection: null, reason: 'no-connection' });
  t.deepEqual(nmcliCalls(exec.calls), [['-g', 'GENERAL.CON-UUID', 'device', 'show', 'eth0']], 'nothing more is asked');
  t.throws(() => gateway.plan(a, cur, ctx), { message: /^no NetworkManager connection is active on device eth0, so no profile holds ipv4\.gateway/ });
  const gone = args({ address: '172.25.7.2', state: 'absent' });
  const p = gateway.plan(gone, await gateway.read(gone, ctx), ctx);
  t.deepEqual(p.changes.map((c) => c.kind), ['route']);
  t.is(p.before, 'nmcli: eth0 (no active connection)\nlive:\n  default via 172.25.7.2 dev eth0\n');

  const missing = await host(t, 'dr-realserver', RHEL9, { [UUID_OF('eth9')]: { code: 10, stderr: nm('device-not-found.stderr.txt') } });
  const far = args({ address: '172.25.7.2', device: 'eth9' });
  t.throws(() => gateway.plan(far, { style: 'nmcli', file: { text: null }, routes: [] }, missing.ctx), {
    message: /no connected route reaches gateway 172\.25\.7\.2, so its NetworkManager device is unknown: set device/,
  });
  t.throws(() => gateway.plan(far, { style: 'nmcli', file: { text: null }, nm: { device: 'eth9', connection: null, reason: 'no-device' }, routes: [] }, missing.ctx), {
    message: /^NetworkManager has no device eth9: /,
  });
  const unknown = await gateway.read(far, missing.ctx);
  t.throws(() => gateway.plan(far, unknown, missing.ctx), {
    message: "NetworkManager has no device eth9 (Error: Device 'eth9' not found.): set device to the one that reaches gateway 172.25.7.2",
  });
});

test('nmcli missing on RHEL 9, or NetworkManager stopped: the read fails with what nmcli said', async (t) => {
  const a = args({ address: '172.25.7.2' });
  const missing = await host(t, 'dr-realserver', RHEL9, { [UUID_OF('eth0')]: { code: 127, stderr: 'nmcli: command not found' } });
  await t.throwsAsync(gateway.read(a, missing.ctx), { message: /^nmcli: command not found: style nmcli needs NetworkManager's nmcli/ });
  const stopped = await host(t, 'dr-realserver', RHEL9, { [UUID_OF('eth0')]: { code: 8, stderr: nm('nm-not-running.stderr.txt') } });
  await t.throwsAsync(gateway.read(a, stopped.ctx), { message: 'nmcli -g GENERAL.CON-UUID device show eth0: exit 8: Error: NetworkManager is not running.' });
  const late = await host(t, 'tun-director', RHEL9, nmAnswers('gateway-172.25.7.9.txt'));
  const cur = await gateway.read(a, late.ctx);
  const failing = fakeExec({ [`nmcli connection modify uuid ${ETH0_UUID} ipv4.gateway 172.25.7.2`]: { code: 8, stderr: nm('nm-not-running.stderr.txt') } });
  await t.throwsAsync(gateway.apply(a, gateway.plan(a, cur, late.ctx).changes, { ...late.ctx, exec: failing }), {
    message: `nmcli connection modify uuid ${ETH0_UUID} ipv4.gateway 172.25.7.2: exit 8: Error: NetworkManager is not running.`,
  });
  t.is(failing.calls.length, 1, 'the live route is not touched after the profile failed');
});

test('check mode: read and plan change nothing on the host', async (t) => {
  const { exec, ctx } = await host(t, 'tun-director', RHEL9, nmAnswers('gateway-172.25.7.9.txt'));
  const check = { ...ctx, check: true };
  const a = args({ address: '172.25.7.2' });
  const p = gateway.plan(a, await gateway.read(a, check), check);
  t.deepEqual(p.changes.map((c) => c.kind), ['nmcli', 'route']);
  t.deepEqual(exec.calls.map((c) => c.args.slice(0, 2)), [
    ['-4', '-j'],
    ['-g', 'GENERAL.CON-UUID'],
    ['-g', 'GENERAL.CONNECTION'],
    ['-g', 'ipv4.gateway'],
  ]);
});
