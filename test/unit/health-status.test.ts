import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countersFrom } from '../../agent/ipvs/counters.js';
import { parseList } from '../../agent/ipvs/parse-list.js';
import { duration } from '../../cli/duration.js';
import { drainProgress, progressText } from '../../cli/drain-progress.js';
import { eventLine } from '../../cli/events-command.js';
import type { HealthReply, StatusResponse } from '../../common/health-api.js';
import { drainAddresses } from '../../controller/health-hub.js';
import { HealthRecords } from '../../controller/health-records.js';
import { directorStatus } from '../../controller/health-status.js';
import { lvsHealthcheck, lvsRealServers } from '../../controller/lvs-filters.js';
import { OMIT } from '../../controller/template.js';
import { Store } from '../../controller/store.js';
import { facts } from '../helpers/fake-ctx.js';

/** The pure parts around real-server health: counters, status, drain progress, events, role filters, the store's records. */

const PLAIN = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  172.25.7.200:80 wrr
  -> 172.25.7.3:80                Route   0      2          7
  -> 172.25.7.4:80                Route   1      1          9
TCP  172.25.7.201:80 rr
  -> 172.25.7.5:80                Route   1      0          0
`;
const RATE = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  172.25.7.200:80                     5       40        0     3200        0
  -> 172.25.7.3:80                       0        8        0      640        0
  -> 172.25.7.4:80                       5       32        0     2560        0
TCP  172.25.7.201:80                     0        0        0        0        0
  -> 172.25.7.5:80                       0        0        0        0        0
`;

test('ipvsadm -Ln --rate parses (CPS and packet/byte rates), and joins the plain listing by key', (t) => {
  const rate = parseList(RATE);
  t.is(rate.format, 'rate');
  t.deepEqual(rate.services[0].rate, { cps: 5, inPPS: 40, outPPS: 0, inBPS: 3200, outBPS: 0 });
  t.deepEqual(rate.services[0].realServers[1].rate, { cps: 5, inPPS: 32, outPPS: 0, inBPS: 2560, outBPS: 0 });
  const c = countersFrom(parseList(PLAIN), rate);
  t.deepEqual(c.services[0], {
    service: 'tcp:172.25.7.200:80',
    scheduler: 'wrr',
    cps: 5,
    realServers: [
      { realServer: '172.25.7.3:80', forwarding: 'dr', weight: 0, activeConn: 2, inActConn: 7, cps: 0 },
      { realServer: '172.25.7.4:80', forwarding: 'dr', weight: 1, activeConn: 1, inActConn: 9, cps: 5 },
    ],
  });
  t.is(countersFrom(parseList(PLAIN)).services[0].cps, null, 'no rate listing: rates unknown, not 0');
});

function reply(): HealthReply {
  const rs = (n: number, over: object = {}) => ({
    service: 'tcp:172.25.7.200:80',
    realServer: `172.25.7.${n}:80`,
    declaredWeight: 3,
    weight: 3,
    state: 'up' as const,
    drained: false,
    sorry: false,
    note: 'up',
    check: 'http' as const,
    lastCheckAt: 1_700_000_000_000,
    lastCheckMs: 2,
    lastResult: 'HTTP 200',
    okStreak: 1,
    failStreak: 0,
    checks: 4,
    failures: 0,
    downTransitions: 0,
    ...over,
  });
  return {
    snapshot: {
      at: 1_700_000_000_500,
      drained: ['172.25.7.4'],
      services: [
        {
          service: 'tcp:172.25.7.200:80',
          quorum: { held: true, quorum: 1, hysteresis: 0, liveWeight: 0 },
          realServers: [rs(3, { weight: 0, state: 'down', reason: 'HTTP 503', note: 'down (HTTP 503)', lastResult: 'HTTP 503' }), rs(4, { declaredWeight: 1, weight: 0, drained: true, note: 'drained' })],
        },
        { service: 'tcp:172.25.7.9:80', quorum: { held: true, quorum: 1, hysteresis: 0, liveWeight: 1 }, realServers: [] },
      ],
    },
    kernel: countersFrom(parseList(PLAIN), parseList(RATE)),
  };
}

test('status of a director: health and kernel joined per real server; kernel-only services and declared-but-missing ones shown as such', (t) => {
  const d = directorStatus('server2', reply());
  t.is(d.host, 'server2');
  t.deepEqual(d.drained, ['172.25.7.4']);
  t.deepEqual(d.services.map((s) => [s.service, s.missing, !!s.quorum]), [
    ['tcp:172.25.7.200:80', false, true],
    ['tcp:172.25.7.9:80', true, true],
    ['tcp:172.25.7.201:80', false, false],
  ]);
  t.like(d.services[0].realServers[0], { realServer: '172.25.7.3:80', address: '172.25.7.3', declaredWeight: 3, weight: 0, liveWeight: 0, forwarding: 'dr', state: 'down', reason: 'HTTP 503', activeConn: 2, inActConn: 7, cps: 0, lastCheckMs: 2 });
  t.like(d.services[0].realServers[1], { declaredWeight: 1, liveWeight: 1, drained: true, note: 'drained', activeConn: 1 });
  t.like(d.services[2].realServers[0], { realServer: '172.25.7.5:80', declaredWeight: null, liveWeight: 1, state: 'unknown', check: null });
  t.is(directorStatus('server2', { ...reply(), kernel: null, kernelError: 'ip_vs is not loaded' }).error, 'no kernel counters: ip_vs is not loaded');
});

test('drain progress: done only when every director answered and each entry is at weight 0 with no active connection', (t) => {
  const status = (d: ReturnType<typeof directorStatus>[]): StatusResponse => ({ directors: d, drained: [] });
  const d = directorStatus('server2', reply());
  const p = drainProgress(status([d]), ['172.25.7.4']);
  t.false(p.done, 'weight 1 in the kernel still, one connection open');
  t.is(progressText(p), 'server2 tcp:172.25.7.200:80 172.25.7.4:80: 1 active (weight 1)');
  const drained = structuredClone(d);
  Object.assign(drained.services[0].realServers[1], { liveWeight: 0, activeConn: 1 });
  t.false(drainProgress(status([drained]), ['172.25.7.4']).done, 'weight 0 but a connection open');
  drained.services[0].realServers[1].activeConn = 0;
  t.true(drainProgress(status([drained]), ['172.25.7.4']).done);
  const silent = drainProgress(status([drained, { host: 'server9', error: 'no answer within 10 s', drained: [], services: [] }]), ['172.25.7.4']);
  t.false(silent.done, 'a director that does not answer may still hold it');
  t.is(progressText(silent), 'server9: no answer');
  t.true(drainProgress(status([drained]), ['10.9.9.9']).done, 'a host no director has');
  t.deepEqual(drainProgress(status([drained]), ['10.9.9.9']).rows, []);
});

test('drain addresses: an IPv4 as given, an agent by its reported addresses (not loopback, not a VIP on lo or tunl0)', (t) => {
  t.deepEqual(drainAddresses('172.25.7.3', undefined), ['172.25.7.3']);
  const f = facts({
    interfaces: [
      { name: 'lo', ip4: '127.0.0.1', ip4subnet: '255.0.0.0', mac: '', operstate: 'unknown' },
      { name: 'lo', ip4: '172.25.7.200', ip4subnet: '255.255.255.255', mac: '', operstate: 'unknown' },
      { name: 'eth0', ip4: '172.25.7.3', ip4subnet: '255.255.255.0', mac: 'x', operstate: 'up' },
      { name: 'tunl0', ip4: '172.25.7.100', ip4subnet: '255.255.255.255', mac: '', operstate: 'up' },
      { name: 'eth1', ip4: '', ip4subnet: '', mac: 'y', operstate: 'down' },
    ],
  });
  t.deepEqual(drainAddresses('server3', f), ['172.25.7.3']);
  t.throws(() => drainAddresses('server9', undefined), { message: /no agent 'server9' has reported its addresses; drain it by address/ });
});

test('events as ctl prints them: time, director, service and real server, from -> to and the reason', (t) => {
  const at = Date.UTC(2024, 4, 1, 12, 0, 1);
  t.is(
    eventLine({ host: 'server2', receivedAt: '', kind: 'realserver', service: 'tcp:172.25.7.200:80', realServer: '172.25.7.3:80', from: 'up', to: 'down', reason: 'connect refused', at, checkMs: 1.4 }),
    '2024-05-01T12:00:01.000Z  server2  tcp:172.25.7.200:80 172.25.7.3:80  up -> down: connect refused (check 1 ms)',
  );
  t.is(
    eventLine({ host: 'server2', receivedAt: '', kind: 'quorum', service: 'tcp:172.25.7.200:80', from: 'held', to: 'lost', reason: 'quorum lost', at, liveWeight: 0, quorum: 1, hysteresis: 0 }),
    '2024-05-01T12:00:01.000Z  server2  tcp:172.25.7.200:80  held -> lost: quorum lost (live weight 0, quorum 1)',
  );
});

test('--timeout durations: plain seconds, units, combined; anything else refused', (t) => {
  t.is(duration('90'), 90_000);
  t.is(duration('30s'), 30_000);
  t.is(duration('5m'), 300_000);
  t.is(duration('1h30m'), 5_400_000);
  t.is(duration('250ms'), 250);
  for (const bad of ['', 'five', '5 m', '1h30', '-5s', '5d']) t.throws(() => duration(bad), { message: /must be a duration/ }, bad);
});

test('role filters: the service check from the role variables, unset ones left to the module; a real server override from its host vars', (t) => {
  t.deepEqual(lvsHealthcheck({ type: 'http', path: '/' }, { interval: null, timeout: 0.5, fall: 3, rise: null, on_failure: 'remove', alpha: null }), { type: 'http', path: '/', timeout: 0.5, fall: 3, on_failure: 'remove' });
  t.deepEqual(lvsHealthcheck('tcp', { interval: 5 }), { type: 'tcp', interval: 5 });
  t.deepEqual(lvsHealthcheck({ type: 'http', interval: 1 }, { interval: 5 }), { type: 'http', interval: 1 }, 'a key in the mapping wins');
  t.deepEqual(lvsHealthcheck('none', { interval: 5 }), { type: 'none' }, 'none takes no timing');
  t.is(lvsHealthcheck('', {}), OMIT);
  t.is(lvsHealthcheck(false, {}), OMIT);
  const hv = { server3: { address: '172.25.7.3', lvs_rs_healthcheck: { type: 'exec', argv: ['/bin/true'] } }, server4: { address: '172.25.7.4', lvs_weight: 2, lvs_rs_healthcheck: 'tcp' }, server5: { address: '172.25.7.5' } };
  t.deepEqual(lvsRealServers(['server3', 'server4', 'server5'], hv, 'dr', 80), [
    { address: '172.25.7.3', port: 80, forwarding: 'dr', weight: 1, healthcheck: { type: 'exec', argv: ['/bin/true'] } },
    { address: '172.25.7.4', port: 80, forwarding: 'dr', weight: 2, healthcheck: { type: 'tcp' } },
    { address: '172.25.7.5', port: 80, forwarding: 'dr', weight: 1 },
  ]);
});

test('health records: drained hosts and bounded events survive a store reopen', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-health-rec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await Store.open(dir, { flushMs: 1 });
  const rec = new HealthRecords(store, 3);
  t.true(rec.drain('server3', ['172.25.7.3']));
  t.false(rec.drain('server3', ['172.25.7.3']), 'drained already');
  rec.drain('10.1.1.1', ['10.1.1.1']);
  t.deepEqual(rec.drainedAddresses(), ['10.1.1.1', '172.25.7.3']);
  for (let i = 0; i < 5; i++) rec.addEvent(i % 2 ? 'server2' : 'server9', { kind: 'sorry', service: 's', realServer: 'r', from: 'out', to: 'in', reason: 'sorry server in', at: i });
  t.deepEqual(rec.events({ limit: 10 }).map((e) => e.at), [2, 3, 4], 'bounded, oldest dropped');
  t.deepEqual(rec.events({ limit: 10, host: 'server2' }).map((e) => e.at), [3]);
  t.deepEqual(rec.events({ limit: 1 }).map((e) => e.at), [4]);
  t.deepEqual(rec.undrain('10.1.1.1')?.addresses, ['10.1.1.1']);
  t.is(rec.undrain('10.1.1.1'), undefined);
  await store.close();

  const again = new HealthRecords(await Store.open(dir));
  t.deepEqual(again.drained().map((d) => [d.host, d.addresses]), [['server3', ['172.25.7.3']]]);
  t.deepEqual(again.events({ limit: 10 }).map((e) => [e.host, e.reason]), [['server9', 'sorry server in'], ['server2', 'sorry server in'], ['server9', 'sorry server in']]);
});
