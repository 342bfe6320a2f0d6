import test from 'ava';
import { ALL_TABLES, type Table } from '../../agent/kstate/tables.js';
import { MODULES } from '../../agent/modules/index.js';
import ipvs from '../../agent/modules/ipvs.js';
import { runOne, runTasks } from '../../agent/runner.js';
import type { RenderedTask } from '../../common/protocol.js';
import { ctxFor, facts } from '../helpers/fake-ctx.js';
import { FakeHost } from '../helpers/fake-host.js';

/**
 * The runner drops the tables an apply touches (the modules' `touches`), so a later task plans
 * against what the apply left. For every table: a task changes it after it was read, a later
 * task reads it and finds nothing left to do (or, for links, the device the first one made).
 * Were the tables not dropped, the later task would plan against the read made before the
 * change and change (or fail) again: each case fails with the runner's invalidation removed.
 */
const task = (module: string, args: Record<string, unknown>): RenderedTask => ({ name: `${module} ${JSON.stringify(args)}`, module, args });

const VS = { protocol: 'tcp', address: '172.25.7.200', port: 80, scheduler: 'rr' };
const RS = { address: '172.25.7.4', forwarding: 'dr', weight: 1 };
const TUN1 = { name: 'tun1', local: '172.25.7.3', remote: '172.25.7.2' };

interface Case {
  why: string;
  setup?(h: FakeHost): void;
  tasks: RenderedTask[];
  want: string[];
}

const CASES: Record<Table, Case[]> = {
  links: [{ why: 'an address goes on the tunnel task 1 created', tasks: [task('tunnel', TUN1), task('address', { address: '10.9.9.1', device: 'tun1' })], want: ['changed', 'changed'] }],
  addresses: [
    { why: 'the VIP is in place', tasks: [task('address', { address: '172.25.7.200/32', device: 'lo:0' }), task('address', { address: '172.25.7.200/32', device: 'lo:0' })], want: ['changed', 'ok'] },
  ],
  tunnels: [
    {
      why: 'the endpoints were changed',
      setup: (h) => h.links.set('tun1', { flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], link_type: 'ipip', kind: 'ipip', local: '172.25.7.3', remote: '172.25.7.9', addrs: [] }),
      tasks: [task('tunnel', TUN1), task('tunnel', TUN1)],
      want: ['changed', 'ok'],
    },
  ],
  routes: [
    {
      why: 'the address brought its prefix route',
      tasks: [
        task('route', { destination: '172.25.9.0/24', gateway: '172.25.7.9', state: 'absent' }),
        task('address', { address: '172.25.9.3/24', device: 'eth0' }),
        task('route', { destination: '172.25.9.0/24', device: 'eth0' }),
      ],
      want: ['ok', 'changed', 'ok'],
    },
    { why: 'the default route was replaced', tasks: [task('route', { destination: 'default', gateway: '172.25.7.2' }), task('route', { destination: 'default', gateway: '172.25.7.2' })], want: ['changed', 'ok'] },
  ],
  ipvs: [{ why: 'the service is in the kernel', tasks: [task('ipvs', { services: [{ ...VS, realServers: [RS] }] }), task('ipvs', { services: [{ ...VS, realServers: [RS] }] })], want: ['changed', 'ok'] }],
  'ipvs-thresholds': [
    {
      why: 'the threshold was set',
      setup: (h) => h.ipvs.table.services.push({ protocol: 'tcp', address: '172.25.7.200', port: 80, scheduler: 'rr', realServers: [{ ...RS, port: 80, forwarding: 'dr' }] }),
      tasks: [task('ipvs', { services: [{ ...VS, realServers: [{ ...RS, uThreshold: 100 }] }] }), task('ipvs', { services: [{ ...VS, realServers: [{ ...RS, uThreshold: 100 }] }] })],
      want: ['changed', 'ok'],
    },
  ],
  modules: [
    { why: 'the module was loaded', tasks: [task('kernel_module', { name: 'lvst_dummy', boot: false }), task('kernel_module', { name: 'lvst_dummy', boot: false })], want: ['changed', 'ok'] },
    {
      why: 'tunl0 loaded ipip',
      tasks: [task('kernel_module', { name: 'ip_vs', boot: false }), task('tunnel', {}), task('kernel_module', { name: 'ipip', boot: false })],
      want: ['ok', 'changed', 'ok'],
    },
  ],
  iptables: [
    {
      why: 'the rules were flushed',
      setup: (h) =>
        h.iptables.set('filter', {
          chains: [{ name: 'INPUT', policy: 'ACCEPT' }, { name: 'FORWARD', policy: 'DROP' }, { name: 'MYCHAIN', policy: null }],
          rules: ['-A INPUT -p tcp --dport 22 -j ACCEPT'],
        }),
      tasks: [task('firewall', { state: 'off' }), task('firewall', { state: 'off' })],
      want: ['changed', 'ok'],
    },
  ],
};

/** No init system: the firewall's service part is skipped, kernel_module needs no boot file. */
function host(setup?: (h: FakeHost) => void) {
  const h = new FakeHost();
  setup?.(h);
  const ctx = ctxFor('/nonexistent', { exec: h.exec, kernel: h.kernel(), facts: facts({ root: '/nonexistent', initSystem: 'none' }) });
  return { h, ctx };
}

test('every table has a case', (t) => {
  t.deepEqual(Object.keys(CASES).sort(), [...ALL_TABLES].sort());
});

for (const [table, cases] of Object.entries(CASES)) {
  for (const c of cases) {
    test(`${table}: task 2 plans against what task 1 applied (${c.why})`, async (t) => {
      const { ctx } = host(c.setup);
      const results = await runTasks(c.tasks, MODULES, ctx, { check: false, diff: true }, () => {});
      t.deepEqual(
        results.map((r) => r.status),
        c.want,
        results.map((r) => `${r.name}: ${r.status} ${r.msg ?? ''}`).join('\n'),
      );
    });
  }
}

test('a failed apply drops what it touched too', async (t) => {
  const { ctx, h } = host();
  const a = ipvs.schema.parse({ services: [{ ...VS, realServers: [RS, { ...RS, address: '172.25.7.5' }] }] });
  h.ipvs.refuse.add('-a -t 172.25.7.200:80 -r 172.25.7.5:80 -g -w 1');
  await t.throwsAsync(runOne(ipvs, a, ctx, { check: false, diff: false }), { message: /ipvsadm -R: exit 255.*still differs/ });
  const before = h.calls.filter((x) => x === 'ipvsadm -Sn').length;
  const table = await ctx.kernel.read('ipvs');
  t.is(h.calls.filter((x) => x === 'ipvsadm -Sn').length, before + 1, 'read again after the failed apply');
  t.deepEqual(table.table.services[0].realServers.map((r) => r.address), ['172.25.7.4']);
});

test('check mode (a drift check): each table is read once, however many tasks read it', async (t) => {
  const { ctx, h } = host((x) => x.iptables.set('filter', { chains: [{ name: 'INPUT', policy: 'DROP' }], rules: ['-A INPUT -j ACCEPT'] }));
  const tasks = [
    task('address', { address: '172.25.7.200/32', device: 'lo:0' }),
    task('address', { address: '172.25.7.3/24', device: 'eth0' }),
    task('tunnel', TUN1),
    task('tunnel', {}),
    task('route', { destination: 'default', gateway: '172.25.7.2' }),
    task('route', { destination: '172.25.7.0/24', device: 'eth0' }),
    task('ipvs', { services: [{ ...VS, realServers: [{ ...RS, uThreshold: 100 }] }] }),
    task('ipvs', { services: [{ ...VS, port: 443, realServers: [{ ...RS, lThreshold: 5 }] }] }),
    task('kernel_module', { name: 'ip_vs', boot: false }),
    task('kernel_module', { name: 'ipip', boot: false }),
    task('firewall', { state: 'off' }),
    task('firewall', { state: 'off' }),
  ];
  const results = await runTasks(tasks, MODULES, { ...ctx, check: true }, { check: true, diff: false }, () => {});
  t.false(results.some((r) => r.status === 'failed'), results.map((r) => `${r.name}: ${r.status} ${r.msg ?? ''}`).join('\n'));
  t.true(results.filter((r) => r.status === 'changed').length >= 6, 'the check found work to do');
  t.deepEqual([...h.calls].sort(), [
    'ip -4 -j route show table all type unicast',
    'ip -d -j addr show',
    'iptables-save',
    'ipvsadm -L -n --thresholds',
    'ipvsadm -Sn',
    'read /proc/modules',
  ]);
});

test('an applying run reads a table again only after an apply touched it', async (t) => {
  const { ctx, h } = host();
  const tasks = [
    task('route', { destination: 'default', gateway: '172.25.7.1' }),
    task('address', { address: '172.25.7.3/24', device: 'eth0' }),
    task('route', { destination: 'default', gateway: '172.25.7.2' }),
    task('route', { destination: '172.25.7.0/24', device: 'eth0' }),
    task('address', { address: '172.25.7.200/32', device: 'lo:0' }),
    task('address', { address: '127.0.0.1/8', device: 'lo' }),
  ];
  const results = await runTasks(tasks, MODULES, ctx, { check: false, diff: false }, () => {});
  t.deepEqual(results.map((r) => r.status), ['ok', 'ok', 'changed', 'ok', 'changed', 'ok']);
  t.deepEqual(h.calls, [
    'ip -4 -j route show table all type unicast',
    'ip -d -j addr show',
    'ip route replace default via 172.25.7.2 table main metric 0',
    'ip -4 -j route show table all type unicast',
    'ip addr add 172.25.7.200/32 brd + dev lo label lo:0',
    'ip -d -j addr show',
  ]);
});
