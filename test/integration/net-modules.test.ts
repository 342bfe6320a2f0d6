import test from 'ava';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TaskResult } from '../../common/protocol.js';
import { Netns } from '../helpers/procs.js';
import { ipJson, nsSysctl, runInNetns, task, type NetnsJob } from '../helpers/netns.js';

/**
 * address, route, gateway and sysctl for real, each in its own network namespace (net.* sysctls
 * are per namespace too) with its own --root. Only addresses inside these namespaces are used.
 */
const netns = new Netns(`lvst-nm-${process.pid}`);
const roots: string[] = [];

test.after.always(async () => {
  await netns.destroy();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function newRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'lvst-nm-root-'));
  roots.push(root);
  return root;
}

const statuses = (rs: TaskResult[]) => rs.map((r) => r.status);

interface IpAddrDump {
  ifname: string;
  flags: string[];
  addr_info: { family: string; local: string; prefixlen: number; label?: string; broadcast?: string }[];
}
async function inet(short: string, dev: string) {
  const [link] = await ipJson<IpAddrDump[]>(netns, short, ['addr', 'show', 'dev', dev]);
  return {
    up: link.flags.includes('UP'),
    addrs: link.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen} ${a.label ?? ''} ${a.broadcast ?? '-'}`),
  };
}

interface IpRouteDump {
  dst: string;
  gateway?: string;
  dev: string;
}
async function mainRoutes(short: string): Promise<string[]> {
  const rs = await ipJson<IpRouteDump[]>(netns, short, ['-4', 'route', 'show']);
  return rs.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}`);
}

/** A namespace with a veth pair, eth0 (down, no address) and eth1, and lo down as on creation. */
async function host(short: string): Promise<void> {
  await netns.add(short);
  await netns.run(short, ['ip', 'link', 'set', 'lo', 'down']);
  await netns.run(short, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  await netns.run(short, ['ip', 'link', 'set', 'eth1', 'up']);
}

test('address: VIP on lo:0 and eth0:0, idempotent, drift seen in check mode, absent', async (t) => {
  await host('addr');
  const root = newRoot();
  const tasks = [
    task('address', { address: '172.25.7.200/32', device: 'lo:0' }, 'DR VIP'),
    task('address', { address: '172.25.7.100/24', device: 'eth0', label: 'eth0:0' }, 'NAT VIP'),
  ];
  const job = (over: Partial<NetnsJob> = {}): NetnsJob => ({ modules: ['address'], tasks, root, ...over });

  t.deepEqual(statuses(await runInNetns(netns, 'addr', job())), ['changed', 'changed']);
  t.deepEqual(await inet('addr', 'lo'), { up: true, addrs: ['127.0.0.1/8 lo -', '172.25.7.200/32 lo:0 -'] });
  t.deepEqual(await inet('addr', 'eth0'), { up: true, addrs: ['172.25.7.100/24 eth0:0 172.25.7.255'] }, 'broadcast derived from the prefix');
  t.deepEqual(statuses(await runInNetns(netns, 'addr', job())), ['ok', 'ok']);

  // Someone puts the VIP back with ifconfig's classic mistake: /24 and no label.
  await netns.run('addr', ['ip', 'addr', 'del', '172.25.7.200/32', 'dev', 'lo']);
  await netns.run('addr', ['ip', 'addr', 'add', '172.25.7.200/24', 'dev', 'lo']);
  const check = await runInNetns(netns, 'addr', job({ check: true, diff: true }));
  t.deepEqual(statuses(check), ['changed', 'ok']);
  t.is(check[0].diff?.before, 'lo: up\n  inet 127.0.0.1/8\n  inet 172.25.7.200/24\n');
  t.is(check[0].diff?.after, 'lo: up\n  inet 127.0.0.1/8\n  inet 172.25.7.200/32 label lo:0\n');
  t.deepEqual((await inet('addr', 'lo')).addrs, ['127.0.0.1/8 lo -', '172.25.7.200/24 lo -'], 'check mode changed nothing');

  t.deepEqual(statuses(await runInNetns(netns, 'addr', job())), ['changed', 'ok']);
  t.deepEqual((await inet('addr', 'lo')).addrs, ['127.0.0.1/8 lo -', '172.25.7.200/32 lo:0 -']);

  const absent = [task('address', { address: '172.25.7.200', device: 'lo', state: 'absent' })];
  t.deepEqual(statuses(await runInNetns(netns, 'addr', job({ tasks: absent }))), ['changed']);
  t.deepEqual(statuses(await runInNetns(netns, 'addr', job({ tasks: absent }))), ['ok']);
  t.deepEqual((await inet('addr', 'lo')).addrs, ['127.0.0.1/8 lo -']);
});

test('address: an invalid task fails validation and nothing runs, even the valid one before it', async (t) => {
  await host('bad');
  const results = await runInNetns(netns, 'bad', {
    modules: ['address'],
    root: newRoot(),
    tasks: [task('address', { address: '172.25.7.200', device: 'lo:0' }), task('address', { address: '172.25.7.201/33', device: 'eth0;reboot' })],
  });
  t.deepEqual(statuses(results), ['skipped', 'failed']);
  t.regex(results[1].msg ?? '', /address: .*; device: must be a device name/);
  // lo keeps 127.0.0.1 from when Netns.add brought it up; what matters is that no task ran.
  t.deepEqual(await inet('bad', 'lo'), { up: false, addrs: ['127.0.0.1/8 lo -'] });
});

test('address: a missing device is a clear failure and stops the host', async (t) => {
  await host('nodev');
  const results = await runInNetns(netns, 'nodev', {
    modules: ['address'],
    root: newRoot(),
    tasks: [task('address', { address: '172.25.7.100', device: 'tunl0' }), task('address', { address: '172.25.7.200', device: 'lo:0' })],
  });
  t.deepEqual(statuses(results), ['failed', 'skipped']);
  t.regex(results[0].msg ?? '', /device tunl0 does not exist/);
});

test('route: DR host route via lo:0 and the default route, idempotent, drift seen in check mode', async (t) => {
  await host('route');
  await netns.run('route', ['ip', 'link', 'set', 'lo', 'up']);
  await netns.run('route', ['ip', 'addr', 'add', '172.25.7.3/24', 'dev', 'eth0']);
  await netns.run('route', ['ip', 'link', 'set', 'eth0', 'up']);
  const root = newRoot();
  const tasks = [
    task('route', { destination: '172.25.7.200', device: 'lo:0' }, 'host route'),
    task('route', { destination: 'default', gateway: '172.25.7.2' }, 'default'),
  ];
  const job = (over: Partial<NetnsJob> = {}): NetnsJob => ({ modules: ['route'], tasks, root, ...over });

  const first = await runInNetns(netns, 'route', job());
  t.deepEqual(statuses(first), ['changed', 'changed']);
  t.is(first[0].msg, 'lo:0 is an address label, not a device: the route uses device lo');
  t.deepEqual((await mainRoutes('route')).sort(), ['172.25.7.0/24 dev eth0', '172.25.7.200 dev lo', 'default via 172.25.7.2 dev eth0']);
  t.deepEqual(statuses(await runInNetns(netns, 'route', job())), ['ok', 'ok']);

  await netns.run('route', ['ip', 'route', 'replace', 'default', 'via', '172.25.7.9']);
  const check = await runInNetns(netns, 'route', job({ check: true, diff: true }));
  t.deepEqual(statuses(check), ['ok', 'changed']);
  t.deepEqual(check[1].diff, { before: 'default via 172.25.7.9 dev eth0\n', after: 'default via 172.25.7.2\n' });
  t.true((await mainRoutes('route')).includes('default via 172.25.7.9 dev eth0'), 'check mode changed nothing');

  t.deepEqual(statuses(await runInNetns(netns, 'route', job())), ['ok', 'changed']);
  t.true((await mainRoutes('route')).includes('default via 172.25.7.2 dev eth0'));

  const absent = [task('route', { destination: '172.25.7.200/32', device: 'lo', state: 'absent' })];
  t.deepEqual(statuses(await runInNetns(netns, 'route', job({ tasks: absent }))), ['changed']);
  t.deepEqual(statuses(await runInNetns(netns, 'route', job({ tasks: absent }))), ['ok']);
  t.false((await mainRoutes('route')).includes('172.25.7.200 dev lo'));
});

test('without ip -j (RHEL 6 iproute2): address and route converge from the text form, then stay ok', async (t) => {
  await host('text');
  await netns.run('text', ['ip', 'link', 'set', 'lo', 'up']);
  await netns.run('text', ['ip', 'addr', 'add', '172.25.7.3/24', 'dev', 'eth0']);
  await netns.run('text', ['ip', 'link', 'set', 'eth0', 'up']);
  // The wrong prefix and no label, as ifconfig leaves a VIP.
  await netns.run('text', ['ip', 'addr', 'add', '172.25.7.200/24', 'dev', 'lo']);
  const job = (over: Partial<NetnsJob> = {}): NetnsJob => ({
    modules: ['address', 'route'],
    root: newRoot(),
    noIpJson: true,
    tasks: [
      task('address', { address: '172.25.7.200/32', device: 'lo:0' }),
      task('address', { address: '172.25.7.100/24', device: 'eth0:0' }),
      task('route', { destination: '172.25.7.200', device: 'lo' }),
      task('route', { destination: 'default', gateway: '172.25.7.2' }),
    ],
    ...over,
  });
  const check = await runInNetns(netns, 'text', job({ check: true, diff: true }));
  t.deepEqual(statuses(check), ['changed', 'changed', 'changed', 'changed'], JSON.stringify(check.filter((r) => r.status === 'failed')));
  t.is(check[0].diff?.before, 'lo: up\n  inet 127.0.0.1/8\n  inet 172.25.7.200/24\n');
  t.deepEqual(statuses(await runInNetns(netns, 'text', job())), ['changed', 'changed', 'changed', 'changed']);
  t.deepEqual(await inet('text', 'lo'), { up: true, addrs: ['127.0.0.1/8 lo -', '172.25.7.200/32 lo:0 -'] });
  t.deepEqual((await inet('text', 'eth0')).addrs, ['172.25.7.3/24 eth0 -', '172.25.7.100/24 eth0:0 172.25.7.255']);
  t.deepEqual((await mainRoutes('text')).sort(), ['172.25.7.0/24 dev eth0', '172.25.7.200 dev lo', 'default via 172.25.7.2 dev eth0']);
  t.deepEqual(statuses(await runInNetns(netns, 'text', job())), ['ok', 'ok', 'ok', 'ok']);
  t.deepEqual(statuses(await runInNetns(netns, 'text', job({ noIpJson: false }))), ['ok', 'ok', 'ok', 'ok'], 'the JSON path sees the same state');
});

test('gateway: RHEL 6 style (sysconfig/network) and RHEL 8 style (ifcfg-eth0), live route, drift', async (t) => {
  await host('gw');
  await netns.run('gw', ['ip', 'link', 'set', 'lo', 'up']);
  await netns.run('gw', ['ip', 'addr', 'add', '172.25.7.3/24', 'dev', 'eth0']);
  await netns.run('gw', ['ip', 'link', 'set', 'eth0', 'up']);
  const root = newRoot();
  const network = path.join(root, 'etc/sysconfig/network');
  const ifcfg = path.join(root, 'etc/sysconfig/network-scripts/ifcfg-eth0');
  await fs.mkdir(path.dirname(ifcfg), { recursive: true });
  await fs.writeFile(network, 'NETWORKING=yes\n');
  await fs.writeFile(ifcfg, 'DEVICE=eth0\nIPADDR=172.25.7.3\nPREFIX=24\n');
  const rhel6: NetnsJob = {
    modules: ['gateway'],
    root,
    facts: { os: { major: 6, release: '6.5' }, initSystem: 'sysv' },
    tasks: [task('gateway', { address: '172.25.7.2' })],
  };

  t.deepEqual(statuses(await runInNetns(netns, 'gw', rhel6)), ['changed']);
  t.is(await fs.readFile(network, 'utf8'), 'NETWORKING=yes\nGATEWAY=172.25.7.2\n');
  t.true((await mainRoutes('gw')).includes('default via 172.25.7.2 dev eth0'));
  t.deepEqual(statuses(await runInNetns(netns, 'gw', rhel6)), ['ok']);

  await fs.writeFile(network, 'NETWORKING=yes\nGATEWAY=172.25.7.9\n');
  await netns.run('gw', ['ip', 'route', 'del', 'default']);
  const check = await runInNetns(netns, 'gw', { ...rhel6, check: true, diff: true });
  t.deepEqual(statuses(check), ['changed']);
  t.is(check[0].diff?.before, '/etc/sysconfig/network: GATEWAY=172.25.7.9\nlive:\n  default (no route)\n');
  t.is(await fs.readFile(network, 'utf8'), 'NETWORKING=yes\nGATEWAY=172.25.7.9\n', 'check mode changed nothing');
  t.false((await mainRoutes('gw')).some((r) => r.startsWith('default')));
  t.deepEqual(statuses(await runInNetns(netns, 'gw', rhel6)), ['changed']);
  t.deepEqual(statuses(await runInNetns(netns, 'gw', rhel6)), ['ok']);

  const rhel8: NetnsJob = { ...rhel6, facts: { os: { major: 8, release: '8.9' }, initSystem: 'systemd' } };
  t.deepEqual(statuses(await runInNetns(netns, 'gw', rhel8)), ['changed'], 'ifcfg-eth0 (found from the connected route) gains GATEWAY');
  t.is(await fs.readFile(ifcfg, 'utf8'), 'DEVICE=eth0\nIPADDR=172.25.7.3\nPREFIX=24\nGATEWAY=172.25.7.2\n');
  t.deepEqual(statuses(await runInNetns(netns, 'gw', rhel8)), ['ok']);
});

test('sysctl: the DR/TUN keys and a device with a dot, per namespace, idempotent, drift in check mode', async (t) => {
  await host('sysctl');
  await netns.run('sysctl', ['ip', 'link', 'add', 'eth0.100', 'type', 'veth', 'peer', 'name', 'p100']);
  const root = newRoot();
  const keys: [string, number][] = [
    ['net.ipv4.ip_forward', 1],
    ['net.ipv4.conf.all.rp_filter', 0],
    ['net.ipv4.conf.lo.rp_filter', 0],
    ['net.ipv4.conf.all.arp_ignore', 1],
    ['net.ipv4.conf.lo.arp_ignore', 1],
    ['net.ipv4.conf.all.arp_announce', 2],
    ['net.ipv4.conf.lo.arp_announce', 2],
    ['net/ipv4/conf/eth0.100/rp_filter', 2],
    ['net.ipv4.conf.eth0/100.arp_ignore', 1],
  ];
  const job = (over: Partial<NetnsJob> = {}): NetnsJob => ({
    modules: ['sysctl'],
    root,
    tasks: keys.map(([name, value]) => task('sysctl', { name, value })),
    ...over,
  });

  const first = await runInNetns(netns, 'sysctl', job());
  t.deepEqual(statuses(first), keys.map(() => 'changed'), JSON.stringify(first.filter((r) => r.status === 'failed')));
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/ip_forward'), '1');
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/conf/lo/arp_announce'), '2');
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/conf/eth0.100/rp_filter'), '2');
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/conf/eth0.100/arp_ignore'), '1');
  t.is(await fs.readFile(path.join(root, 'etc/sysctl.conf'), 'utf8'), keys.map(([k, v]) => `${k} = ${v}\n`).join(''));
  t.deepEqual(statuses(await runInNetns(netns, 'sysctl', job())), keys.map(() => 'ok'));

  await netns.run('sysctl', ['sysctl', '-q', '-w', 'net.ipv4.conf.lo.arp_ignore=0']);
  await netns.run('sysctl', ['sysctl', '-q', '-w', 'net/ipv4/conf/eth0.100/rp_filter=0']);
  const check = await runInNetns(netns, 'sysctl', job({ check: true }));
  t.deepEqual(
    check.filter((r) => r.status === 'changed').map((r) => keys[r.index][0]),
    ['net.ipv4.conf.lo.arp_ignore', 'net/ipv4/conf/eth0.100/rp_filter'],
  );
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/conf/lo/arp_ignore'), '0', 'check mode changed nothing');
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/conf/eth0.100/rp_filter'), '0');
  t.is((await runInNetns(netns, 'sysctl', job())).filter((r) => r.status === 'changed').length, 2);
  t.is(await nsSysctl(netns, 'sysctl', '/proc/sys/net/ipv4/conf/lo/arp_ignore'), '1');
});
