import test from 'ava';
import { readFileSync } from 'node:fs';
import { readIpvsReport, sameIpvsReport } from '../../agent/ipvs-report.js';
import { parseList } from '../../agent/ipvs/parse-list.js';
import { fakeExec } from '../helpers/fake-ctx.js';
import { REPO } from '../helpers/procs.js';

const fixture = (f: string) => readFileSync(`${REPO}/test/fixtures/ipvs/${f}`, 'utf8');

test('ipvsadm -Ln --rate (as printed by the lab\'s ipvsadm) parses to rates per service and real server', (t) => {
  const list = parseList(fixture('list-rate.txt'));
  t.is(list.format, 'rate');
  t.deepEqual(list.services.map((s) => [s.key, s.rate]), [['tcp:172.25.7.200:80', { cps: 1, inPps: 3, outPps: 0, inBps: 213, outBps: 0 }]]);
  t.deepEqual(list.services[0].realServers.map((r) => [r.key, r.rate?.cps, r.rate?.inBps]), [['172.25.7.3:80', 0, 111], ['172.25.7.4:80', 0, 102]]);
});

test('a director\'s report: weights and connections from -Ln, connections per second from --rate; a failed rate listing leaves rates null', async (t) => {
  const rate = fixture('list-rate.txt').replace('TCP  172.25.7.200:80                     1', 'TCP  172.25.7.200:80                    12').replace('  -> 172.25.7.3:80                       0        2', '  -> 172.25.7.3:80                       5        2');
  const exec = fakeExec({ 'ipvsadm -L -n': { stdout: fixture('list-all.txt') }, 'ipvsadm -L -n --rate': { stdout: rate } });
  const r = await readIpvsReport(exec, () => 42);
  t.is(r.at, 42);
  const vip = r.services.find((s) => s.key === 'tcp:172.25.7.200:80')!;
  t.deepEqual(vip, {
    key: 'tcp:172.25.7.200:80',
    label: 'TCP 172.25.7.200:80',
    scheduler: 'rr',
    connRate: 12,
    realServers: [
      { key: '172.25.7.3:80', forwarding: 'dr', weight: 1, activeConn: 0, inactConn: 3, connRate: 5 },
      { key: '172.25.7.4:80', forwarding: 'dr', weight: 1, activeConn: 0, inactConn: 3, connRate: 0 },
    ],
  });
  t.is(r.services.find((s) => s.key === 'tcp:172.25.7.100:80')!.connRate, null, 'a service the rate listing lacks');

  const noRate = await readIpvsReport(fakeExec({ 'ipvsadm -L -n': { stdout: fixture('list-all.txt') }, 'ipvsadm -L -n --rate': { code: 2, stderr: 'boom' } }));
  t.true(noRate.services.every((s) => s.connRate === null && s.realServers.every((x) => x.connRate === null)));
  t.true(sameIpvsReport(noRate, { ...noRate, at: 1 }), 'the read time alone is no change');
  t.false(sameIpvsReport(noRate, r));
  await t.throwsAsync(readIpvsReport(fakeExec({ 'ipvsadm -L -n': { code: 2, stderr: "Can't initialize ipvs" } })), { message: /ipvsadm -L -n: exit 2: Can't initialize ipvs/ });
});
