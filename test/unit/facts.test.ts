import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { interfaceFacts, osIdentity } from '../../agent/facts.js';
import { fakeExec } from '../helpers/fake-ctx.js';
import { NO_JSON } from '../helpers/old-iproute.js';

const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');
/** `ip` answering one captured scene as JSON, or refusing `-j` and answering its text form. */
const ipOf = (scene: string, form: 'json' | 'text') =>
  fakeExec(
    form === 'json'
      ? { 'ip -j addr show': { stdout: fixture(`address/${scene}.json`) } }
      : {
          'ip -j addr show': NO_JSON,
          // The capture is `ip -d -o link show`; the details it adds are not read for facts.
          'ip -o link show': { stdout: fixture(`address/${scene}.link.txt`) },
          'ip -o addr show': { stdout: fixture(`address/${scene}.addr.txt`) },
        },
  );

test('interfaces come from one ip -j addr show, one entry per IPv4 address', async (t) => {
  const stdout = JSON.stringify([
    { ifname: 'lo', address: '00:00:00:00:00:00', operstate: 'UNKNOWN', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet', local: '172.25.7.200', prefixlen: 32 }] },
    { ifname: 'eth0', address: '02:00:00:00:00:02', operstate: 'UP', addr_info: [{ family: 'inet', local: '172.25.7.2', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] },
    { ifname: 'tunl0', address: '0.0.0.0', operstate: 'DOWN', addr_info: [] },
  ]);
  const run = fakeExec({ 'ip -j addr show': { stdout } });
  t.deepEqual(await interfaceFacts(run), [
    { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ip4: '127.0.0.1', ip4subnet: '255.0.0.0' },
    { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ip4: '172.25.7.200', ip4subnet: '255.255.255.255' },
    { name: 'eth0', mac: '02:00:00:00:00:02', operstate: 'up', ip4: '172.25.7.2', ip4subnet: '255.255.255.0' },
    { name: 'tunl0', mac: '0.0.0.0', operstate: 'down', ip4: '', ip4subnet: '' },
  ]);
  t.deepEqual(run.calls, [{ file: 'ip', args: ['-j', 'addr', 'show'] }]);
  t.deepEqual(await interfaceFacts(fakeExec({ 'ip -j addr show': { code: 127 } })), []);
});

for (const scene of ['fresh', 'dr-realserver', 'director', 'drift']) {
  test(`${scene}: without ip -j, interfaces come from ip -o link/addr show, equal to the JSON ones`, async (t) => {
    const run = ipOf(scene, 'text');
    const text = await interfaceFacts(run);
    t.deepEqual(text, await interfaceFacts(ipOf(scene, 'json')));
    t.true(text.length > 0 && text.every((i) => i.mac !== '' && (i.name === 'lo' || i.operstate !== 'unknown')), 'links, MACs and states were read');
    t.deepEqual(run.calls.map((c) => c.args.join(' ')), ['-j addr show', '-o link show', '-o addr show']);
  });
}

test('RHEL 6 (hand-written iproute 2.6.32 sample): interfaces, one entry per IPv4 address', async (t) => {
  const run = fakeExec({
    'ip -j addr show': NO_JSON,
    'ip -o link show': { stdout: fixture('address/rhel6-realserver.link.txt') },
    'ip -o addr show': { stdout: fixture('address/rhel6-realserver.addr.txt') },
  });
  t.deepEqual(await interfaceFacts(run), [
    { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ip4: '127.0.0.1', ip4subnet: '255.0.0.0' },
    { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ip4: '172.25.7.200', ip4subnet: '255.255.255.255' },
    { name: 'eth0', mac: '52:54:00:25:07:03', operstate: 'up', ip4: '172.25.7.3', ip4subnet: '255.255.255.0' },
    { name: 'eth0', mac: '52:54:00:25:07:03', operstate: 'up', ip4: '172.25.7.103', ip4subnet: '255.255.255.0' },
    { name: 'tunl0', mac: '0.0.0.0', operstate: 'unknown', ip4: '172.25.7.100', ip4subnet: '255.255.255.255' },
  ]);
});

test('OS family and major version from os-release, or redhat-release on RHEL 6', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-etc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'redhat-release'), 'Red Hat Enterprise Linux Server release 6.5 (Santiago)\n');
  t.deepEqual(await osIdentity(dir), { family: 'redhat', major: 6 });
  writeFileSync(path.join(dir, 'os-release'), 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n');
  t.deepEqual(await osIdentity(dir), { family: 'redhat', major: 9 });
  writeFileSync(path.join(dir, 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
  t.deepEqual(await osIdentity(dir), { family: 'debian', major: 12 });
});
