import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseAddrText, parseLinkText, parseRouteText } from '../../agent/kstate/iproute-text.js';
import { ipAddrTables, linksFromText, parseLinks } from '../../agent/kstate/ip-addr.js';
import { parseRoutes, parseRoutesText } from '../../agent/kstate/ip-route.js';
import { observe } from '../../agent/modules/address.js';
import { observeTunnel } from '../../agent/modules/tunnel.js';

/**
 * The text form of iproute2 without JSON gives the very objects the JSON path gives. The scenes
 * are captured in both forms at once by test/fixtures/address/capture.sh; rhel6-realserver is a
 * hand-written RHEL 6 (iproute 2.6.32) sample, see test/fixtures/address/README.md.
 */
const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');
const SCENES = ['fresh', 'dr-realserver', 'director', 'tun-director', 'drift'];
const textLinks = (dir: string, scene: string) => linksFromText(fixture(`${dir}/${scene}.link.txt`), fixture(`${dir}/${scene}.addr.txt`));

for (const scene of SCENES) {
  test(`${scene}: links and addresses from text equal those from JSON`, (t) => {
    t.deepEqual(textLinks('address', scene), parseLinks(fixture(`address/${scene}.json`)));
  });
  test(`${scene}: routes from text equal those from JSON`, (t) => {
    t.deepEqual(parseRoutesText(fixture(`route/${scene}.txt`)), parseRoutes(fixture(`route/${scene}.json`)));
  });
}

for (const scene of ['tun-realserver', 'ipip-loaded']) {
  test(`tunnel ${scene} (hand-written): ipip kind and endpoints from text equal those from JSON`, (t) => {
    t.deepEqual(textLinks('tunnel', scene), parseLinks(fixture(`tunnel/${scene}.json`)));
  });
}

test('the captured scenes hold what the comparison is about', (t) => {
  // Guards the loop above against comparing empty tables: labels, secondaries, M-DOWN, tables, metrics.
  const director = textLinks('address', 'director');
  t.deepEqual(director.find((l) => l.ifname === 'eth0.100')?.flags, ['BROADCAST', 'MULTICAST', 'M-DOWN']);
  t.is(textLinks('address', 'tun-director').find((l) => l.ifname === 'eth0')?.addr_info[1].secondary, true);
  t.deepEqual(textLinks('address', 'drift').find((l) => l.ifname === 'eth1')?.flags, ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN']);
  const routes = parseRoutesText(fixture('route/director.txt'));
  t.deepEqual(routes.map((r) => `${r.table} ${r.dst} ${r.metric}`), [
    '100 default 0',
    'main default 0',
    'main 10.9.0.0/16 50',
    'main 10.9.0.0/16 100',
    'main 172.25.7.0/24 0',
    'main 172.25.254.0/24 0',
  ]);
});

test('RHEL 6 links: 2.6.32 spacing, link lines among the addresses, no lifetimes on IPv4, no kind for tunl0', (t) => {
  t.deepEqual(textLinks('address', 'rhel6-realserver'), [
    {
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      link_type: 'loopback',
      addr_info: [
        { family: 'inet', local: '127.0.0.1', prefixlen: 8, label: 'lo' },
        { family: 'inet', local: '172.25.7.200', prefixlen: 32, label: 'lo:0' },
        { family: 'inet6', local: '::1', prefixlen: 128 },
      ],
    },
    {
      ifname: 'eth0',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      link_type: 'ether',
      addr_info: [
        { family: 'inet', local: '172.25.7.3', prefixlen: 24, label: 'eth0', broadcast: '172.25.7.255' },
        { family: 'inet', local: '172.25.7.103', prefixlen: 24, label: 'eth0:1', broadcast: '172.25.7.255', secondary: true },
        { family: 'inet6', local: 'fe80::5054:ff:fe25:703', prefixlen: 64 },
      ],
    },
    {
      ifname: 'tunl0',
      flags: ['NOARP', 'UP', 'LOWER_UP'],
      link_type: 'ipip',
      addr_info: [{ family: 'inet', local: '172.25.7.100', prefixlen: 32, label: 'tunl0' }],
    },
  ]);
});

test('RHEL 6 routes: two spaces between fields, the local table dropped by type, metric and scope read', (t) => {
  t.deepEqual(parseRoutesText(fixture('route/rhel6-realserver.txt')), [
    { table: 'main', dst: '172.25.7.200/32', dev: 'lo', metric: 0, scope: 'link' },
    { table: 'main', dst: '172.25.7.0/24', dev: 'eth0', metric: 0, src: '172.25.7.3', scope: 'link' },
    { table: 'main', dst: '169.254.0.0/16', dev: 'eth0', metric: 1002, scope: 'link' },
    { table: 'main', dst: 'default', gateway: '172.25.7.2', dev: 'eth0', metric: 0, scope: 'global' },
  ]);
});

test('RHEL 6 sample reads like the JSON of the same devices: the DR VIP on lo:0 and tunl0', (t) => {
  const rhel6 = ipAddrTables(textLinks('address', 'rhel6-realserver'));
  t.deepEqual(observe(rhel6, 'lo'), observe(ipAddrTables(parseLinks(fixture('address/dr-realserver.json'))), 'lo'));
  t.deepEqual(observeTunnel(rhel6, 'tunl0'), observeTunnel(ipAddrTables(parseLinks(fixture('tunnel/tun-realserver.json'))), 'tunl0'));
});

test('link lines: peer names, @NONE, operstate, link-layer address, kind and endpoints', (t) => {
  const [tun1] = parseLinkText(
    '5: tun1@NONE: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    ' +
      'link/ipip 172.25.7.3 peer 172.25.7.2 promiscuity 0 \\    ipip ipip remote 172.25.7.2 local 172.25.7.3 ttl inherit pmtudisc \n',
  );
  t.deepEqual(tun1, {
    ifindex: 5,
    ifname: 'tun1',
    flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    linkType: 'ipip',
    address: '172.25.7.3',
    kind: 'ipip',
    endpoints: { local: '172.25.7.3', remote: '172.25.7.2' },
  });
  const [port] = parseLinkText('7: eth2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\\    link/ether 02:00:00:00:00:07 brd ff:ff:ff:ff:ff:ff \\    bridge_slave state forwarding \\    altname enp0s7\n');
  t.is(port.kind, undefined, 'a port kind is not the link kind');
  const [none] = parseLinkText('8: tun0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 state UNKNOWN\\    link/none  promiscuity 0 \\    tun type tun pi off\n');
  t.deepEqual([none.linkType, none.address, none.kind], ['none', undefined, 'tun']);
});

test('address lines: peer prefixes, flags before the label, other lines skipped', (t) => {
  t.deepEqual(
    parseAddrText(
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 16436 qdisc noqueue state UNKNOWN \\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n' +
        '6: ppp0    inet 10.64.64.64 peer 10.112.112.112/32 scope global ppp0\n' +
        '2: eth0    inet 172.25.7.9/24 brd 172.25.7.255 scope global secondary dynamic eth0:9\\       valid_lft 86000sec preferred_lft 86000sec\n' +
        '2: eth0    inet6 fe80::1/64 scope link secondary \\       valid_lft forever preferred_lft forever\n' +
        '    continued from a line break\n',
    ),
    [
      { ifindex: 6, family: 'inet', local: '10.64.64.64', prefixlen: 32, label: 'ppp0' },
      { ifindex: 2, family: 'inet', local: '172.25.7.9', prefixlen: 24, broadcast: '172.25.7.255', label: 'eth0:9', secondary: true },
      { ifindex: 2, family: 'inet6', local: 'fe80::1', prefixlen: 64 },
    ],
  );
});

test('route lines: types, tables by name, multipath nexthop lines skipped', (t) => {
  t.deepEqual(
    parseRouteText(
      'unreachable 10.99.0.0/16  proto static  metric 5 \n' +
        'default  proto static  metric 10 \n\tnexthop via 172.25.7.1  dev eth0 weight 1\n\tnexthop via 172.25.7.9  dev eth0 weight 1\n' +
        '10.8.0.0/16 via 172.25.7.9 dev eth0  table lvs  proto static  src 172.25.7.3  metric 7 onlink \n',
    ),
    [
      { type: 'unreachable', dst: '10.99.0.0/16', metric: 5 },
      { dst: 'default', metric: 10 },
      { dst: '10.8.0.0/16', gateway: '172.25.7.9', dev: 'eth0', table: 'lvs', metric: 7, prefsrc: '172.25.7.3' },
    ],
  );
});
