import test from 'ava';
import { readFileSync } from 'node:fs';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import { IpForms } from '../../agent/kstate/iproute.js';
import { fakeExec } from '../helpers/fake-ctx.js';
import { CMD, sceneAnswers } from '../helpers/old-iproute.js';

const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');
const cmds = (calls: { file: string; args: string[] }[]) => calls.map((c) => [c.file, ...c.args].join(' '));

test('links, addresses and tunnels are one read, and dropping one drops all three', async (t) => {
  const exec = fakeExec({ [CMD.addrJson]: { stdout: fixture('tunnel/tun-realserver.json') } });
  const k = new KernelState({ exec });
  const [links, addresses, tunnels] = await Promise.all([k.read('links'), k.read('addresses'), k.read('tunnels')]);
  t.deepEqual(cmds(exec.calls), [CMD.addrJson]);
  t.deepEqual(links.map((l) => [l.ifname, l.kind ?? l.link_type]), [['lo', 'loopback'], ['eth1', 'veth'], ['eth0', 'veth'], ['tunl0', 'ipip'], ['tun1', 'ipip']]);
  t.deepEqual(addresses.filter((a) => a.family === 'inet').map((a) => `${a.dev} ${a.local}/${a.prefixlen}`), ['lo 127.0.0.1/8', 'eth0 172.25.7.3/24', 'tunl0 172.25.7.100/32']);
  t.deepEqual(tunnels, [{ ifname: 'tunl0', kind: 'ipip' }, { ifname: 'tun1', kind: 'ipip', local: '172.25.7.3', remote: '172.25.7.2' }]);
  k.invalidate(['tunnels']);
  await k.read('addresses');
  t.deepEqual(cmds(exec.calls), [CMD.addrJson, CMD.addrJson]);
});

test('reread reads past the memo and leaves it alone', async (t) => {
  const exec = fakeExec({ [CMD.routeJson]: { stdout: '[]' } });
  const k = new KernelState({ exec });
  const first = await k.read('routes');
  await k.reread('routes');
  t.is(await k.read('routes'), first);
  t.is(exec.calls.length, 2);
});

test('a failed read is not kept; the next read tries again', async (t) => {
  let fail = true;
  const exec = fakeExec();
  const k = new KernelState({ exec: async (f, a) => (fail ? { code: 1, stdout: '', stderr: 'iptables: no lock', ms: 0 } : exec(f, a)) });
  await t.throwsAsync(k.read('iptables'), { message: 'iptables-save failed (exit 1): iptables: no lock' });
  fail = false;
  t.deepEqual(await k.read('iptables'), { tables: [], warnings: [] });
});

test('the iproute2 form is decided once: kept across invalidation and, passed on, across checks', async (t) => {
  const exec = fakeExec(sceneAnswers('drift', 'text'));
  const forms = new IpForms();
  const k = new KernelState({ exec }, forms);
  await k.read('routes');
  k.invalidate(['routes']);
  await k.read('routes');
  // A drift watch makes one KernelState per check and hands the forms on.
  await new KernelState({ exec }, forms).read('routes');
  t.deepEqual(cmds(exec.calls), [CMD.routeJson, CMD.routes, CMD.routes, CMD.routes]);
  t.is(await forms.get('ip-route'), 'text');
});

test('/proc/modules is read through the injected reader, not the host file', async (t) => {
  const read: string[] = [];
  const k = new KernelState({ exec: fakeExec(), readFile: async (p) => (read.push(p), 'ip_vs 172032 0 - Live 0x0\nipip 16384 0 - Live 0x0\n') });
  t.deepEqual([...(await k.read('modules'))], ['ip_vs', 'ipip']);
  t.deepEqual(read, ['/proc/modules']);
});
