import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findListed, parseList } from '../../agent/ipvs/parse-list.js';
import { parseHostPort, parseSave } from '../../agent/ipvs/parse-save.js';
import { renderTable, serviceKey, realServerKey } from '../../agent/ipvs/table.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/ipvs/', import.meta.url));
const fixture = (name: string) => readFileSync(FIXTURES + name, 'utf8');

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];

test('parseHostPort: IPv4 and bracketed IPv6, nothing else', (t) => {
  t.deepEqual(parseHostPort('172.25.7.3:80'), { address: '172.25.7.3', port: 80, ipv6: false });
  t.deepEqual(parseHostPort('[2001:db8::3]:443'), { address: '2001:db8::3', port: 443, ipv6: true });
  t.is(parseHostPort('172.25.7.3:http'), null);
  t.is(parseHostPort('172.25.7.3'), null);
  t.is(parseHostPort('172.25.7.3:70000'), null);
});

test('parseSave: every service of the -Sn fixture, keyed kube-proxy style', (t) => {
  const table = parseSave(fixture('save-all.txt'));
  t.deepEqual(
    table.services.map(serviceKey),
    [
      'tcp:172.25.7.100:80',
      'tcp:172.25.7.200:80',
      'tcp:172.25.7.200:443',
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((p) => `tcp:172.25.7.201:${8000 + p}`),
      'tcp:172.25.7.202:80',
      'tcp:172.25.254.100:80',
      'udp:172.25.7.200:53',
      'udp:172.25.7.200:5060',
      'fwm:1',
      'fwm:2',
    ],
  );
  t.deepEqual([...new Set(table.services.map((s) => s.scheduler))].sort(), [...SCHEDULERS].sort());
  const by = (k: string) => table.services.find((s) => serviceKey(s) === k)!;

  t.deepEqual(by('tcp:172.25.7.100:80').realServers, [
    { address: '172.25.7.3', port: 80, forwarding: 'tun', weight: 1, tunType: 'ipip' },
    { address: '172.25.7.4', port: 80, forwarding: 'tun', weight: 1, tunType: 'ipip' },
  ]);
  t.deepEqual(by('tcp:172.25.7.200:80').realServers.map((r) => [realServerKey(r), r.forwarding, r.weight]), [
    ['172.25.7.3:80', 'dr', 1],
    ['172.25.7.4:80', 'dr', 1],
  ]);
  const https = by('tcp:172.25.7.200:443');
  t.is(https.persistent, 600);
  t.is(https.netmask, '255.255.255.0');
  t.deepEqual(https.realServers.map((r) => r.weight), [3, 1]);
  t.is(by('tcp:172.25.7.201:8006').schedFlags, 'sh-fallback,sh-port');
  t.deepEqual(by('tcp:172.25.7.201:8011').realServers, []);
  // a Local server (old kernels) is saved as -g
  t.is(by('tcp:172.25.7.202:80').realServers[0].forwarding, 'dr');
  t.deepEqual(by('tcp:172.25.254.100:80').realServers.map((r) => [realServerKey(r), r.forwarding, r.weight]), [
    ['172.25.7.3:80', 'nat', 1],
    ['172.25.7.4:8080', 'nat', 2],
  ]);
  t.true(by('udp:172.25.7.200:53').ops);
  t.is(by('udp:172.25.7.200:5060').pe, 'sip');
  t.is(by('udp:172.25.7.200:5060').persistent, 360);
  const fwm1 = by('fwm:1');
  t.is(fwm1.fwmark, 1);
  t.is(fwm1.persistent, 300);
  t.deepEqual(fwm1.realServers.map(realServerKey), ['172.25.7.3:0', '172.25.7.4:0']);
  t.is(by('fwm:2').realServers[0].forwarding, 'nat');
});

test('parseSave: ipvsadm before 1.30 prints tunnels without --tun-type', (t) => {
  const [svc] = parseSave(fixture('save-tun-1.26.txt')).services;
  t.deepEqual(svc.realServers[0], { address: '172.25.7.3', port: 80, forwarding: 'tun', weight: 1 });
});

test('parseSave: an empty table and IPv6 / sctp / fwmark -6 services from other tools', (t) => {
  t.deepEqual(parseSave(''), { services: [] });
  const table = parseSave(
    '-A -t [2001:db8::100]:80 -s rr\n-a -t [2001:db8::100]:80 -r [2001:db8::3]:80 -m -w 1\n' +
      '-A --sctp-service 172.25.7.200:9 -s rr\n-A -f 5 -6 -s wlc\n',
  );
  t.deepEqual(table.services.map(serviceKey), ['tcp:[2001:db8::100]:80', 'sctp:172.25.7.200:9', 'fwm6:5']);
  t.is(realServerKey(table.services[0].realServers[0]), '[2001:db8::3]:80');
});

test('parseSave: gue tunnels keep their options', (t) => {
  const [svc] = parseSave(
    '-A -t 172.25.7.100:80 -s rr\n-a -t 172.25.7.100:80 -r 172.25.7.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n',
  ).services;
  t.like(svc.realServers[0], { forwarding: 'tun', tunType: 'gue', tunPort: 6080, tunCsum: 'csum' });
});

test('parseSave: a line it does not understand is an error naming the line', (t) => {
  t.throws(() => parseSave('-A -t 172.25.7.200:80 -s rr --frobnicate\n'), { message: /line 1: unknown option '--frobnicate'/ });
  t.throws(() => parseSave('-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n'), { message: /line 1: .*before its -A line/ });
  t.throws(() => parseSave('-A -t 172.25.7.200:80 -s rr\n-C\n'), { message: /line 2: expected -A or -a/ });
  t.throws(() => parseSave('-A -t 172.25.7.200:http -s rr\n'), { message: /bad -t address/ });
});

test('renderTable: the parsed fixture renders back to it (ipip tunnels without the default --tun-type)', (t) => {
  const text = fixture('save-all.txt');
  t.is(renderTable(parseSave(text).services), text.replaceAll(' --tun-type ipip', ''));
});

test('parseList: the reference article output', (t) => {
  const list = parseList(fixture('list-reference.txt'));
  t.is(list.version, '1.2.1');
  t.is(list.size, 4096);
  t.is(list.format, 'plain');
  t.deepEqual(list.services, [
    {
      key: 'tcp:172.25.7.200:80',
      protocol: 'tcp',
      address: '172.25.7.200',
      port: 80,
      scheduler: 'rr',
      realServers: [
        { key: '172.25.7.3:80', address: '172.25.7.3', port: 80, forwarding: 'dr', weight: 1, activeConn: 0, inActConn: 3 },
        { key: '172.25.7.4:80', address: '172.25.7.4', port: 80, forwarding: 'dr', weight: 1, activeConn: 0, inActConn: 3 },
      ],
    },
  ]);
});

test('parseList: every forwarding method, scheduler and flag of the -ln fixture', (t) => {
  const list = parseList(fixture('list-all.txt'));
  const save = parseSave(fixture('save-all.txt'));
  t.deepEqual(list.services.map((s) => s.key), save.services.map(serviceKey));
  t.deepEqual(
    list.services.map((s) => s.scheduler),
    save.services.map((s) => s.scheduler),
  );
  const fwd = list.services.flatMap((s) => s.realServers.map((r) => r.forwarding));
  t.deepEqual([...new Set(fwd)].sort(), ['dr', 'local', 'nat', 'tun']);
  const by = (k: string) => list.services.find((s) => s.key === k)!;
  t.like(by('tcp:172.25.7.200:443'), { persistent: 600, netmask: '255.255.255.0' });
  t.like(by('tcp:172.25.7.201:8006'), { scheduler: 'sh', schedFlags: 'sh-fallback,sh-port' });
  t.like(by('udp:172.25.7.200:53'), { ops: true });
  t.like(by('udp:172.25.7.200:5060'), { persistent: 360, pe: 'sip' });
  t.like(by('fwm:1'), { protocol: 'fwmark', fwmark: 1, persistent: 300 });
  t.like(findListed(list, 'tcp:172.25.254.100:80', '172.25.7.4:8080'), { forwarding: 'nat', weight: 2, activeConn: 5, inActConn: 20 });
  t.like(findListed(list, 'tcp:172.25.7.202:80', '127.0.0.1:80'), { forwarding: 'local' });
  t.like(findListed(list, 'tcp:172.25.7.100:80', '172.25.7.4:80'), { forwarding: 'tun', activeConn: 1, inActConn: 1 });
  t.is(findListed(list, 'tcp:172.25.7.200:80', '172.25.7.9:80'), undefined);
});

test('parseList: --thresholds', (t) => {
  const list = parseList(fixture('list-thresholds.txt'));
  t.is(list.format, 'thresholds');
  t.deepEqual(findListed(list, 'tcp:172.25.7.200:80', '172.25.7.3:80'), {
    key: '172.25.7.3:80',
    address: '172.25.7.3',
    port: 80,
    uThreshold: 100,
    lThreshold: 50,
    activeConn: 0,
    inActConn: 3,
  });
  t.like(list.services.find((s) => s.key === 'tcp:172.25.7.200:443'), { scheduler: 'wrr', persistent: 600 });
});

test('parseList: --stats, with print_largenum K/M suffixes', (t) => {
  const list = parseList(fixture('list-stats.txt'));
  t.is(list.format, 'stats');
  const nat = list.services.find((s) => s.key === 'tcp:172.25.254.100:80')!;
  t.is(nat.scheduler, undefined);
  t.deepEqual(nat.stats, { conns: 123456000, inPkts: 700000, outPkts: 650000, inBytes: 5000000000, outBytes: 999 });
  t.deepEqual(findListed(list, 'tcp:172.25.254.100:80', '172.25.7.3:80')?.stats, {
    conns: 61728394,
    inPkts: 350000,
    outPkts: 325000,
    inBytes: 2500000000,
    outBytes: 500,
  });
});

test('parseList: an empty table, and errors naming the line', (t) => {
  const empty = parseList(
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
  );
  t.deepEqual(empty.services, []);
  const head = fixture('list-reference.txt').split('\n').slice(0, 4).join('\n');
  t.throws(() => parseList(head + '\n  -> 172.25.7.3:80                Bridge  1      0          3\n'), {
    message: /line 5: expected Masq, Tunnel, Route or Local/,
  });
  t.throws(() => parseList(head + '\n  -> 172.25.7.3:80                Route   1      0\n'), { message: /line 5: bad InActConn/ });
  t.throws(() => parseList('TCP  172.25.7.200:80 rr\n'), { message: /line 1: service before the title line/ });
});
