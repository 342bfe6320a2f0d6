import test from 'ava';
import address from '../../agent/modules/address.js';
import sysctl from '../../agent/modules/sysctl.js';
import tunnel from '../../agent/modules/tunnel.js';
import { runTasks } from '../../agent/runner.js';
import type { AnyModule } from '../../agent/module.js';
import { ctxFor, fakeExec } from '../helpers/fake-ctx.js';

/** A host with no tunl0 yet (the ipip module not loaded): only lo and eth0. */
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], link_type: 'loopback', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, label: 'lo' }] },
  { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP', 'LOWER_UP'], link_type: 'ether', addr_info: [{ family: 'inet', local: '172.25.7.3', prefixlen: 24, label: 'eth0' }] },
]);

const TASKS = [
  { name: 'tunl0', module: 'tunnel', args: { name: 'tunl0' } },
  { name: 'vip', module: 'address', args: { address: '172.25.7.100/32', device: 'tunl0' } },
  { name: 'rp', module: 'sysctl', args: { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0, persist: false } },
];
const MODULES = new Map<string, AnyModule>([
  ['tunnel', tunnel],
  ['address', address],
  ['sysctl', sysctl],
]);

test('check mode on a fresh TUN real server: tasks needing tunl0 report changes instead of failing', async (t) => {
  const run = fakeExec({ 'ip -d -j addr show': { stdout: LINKS } });
  const ctx = ctxFor('/nonexistent', { exec: run, check: true });
  const results = await runTasks(TASKS, MODULES, ctx, { check: true, diff: true }, () => {});
  t.deepEqual(results.map((r) => [r.name, r.status]), [['tunl0', 'changed'], ['vip', 'changed'], ['rp', 'changed']], JSON.stringify(results));
  t.regex(results[1].diff!.before, /no such device yet: an earlier task creates it/);
  t.regex(results[2].diff!.before, /\(tunl0 not created yet\)/);
  t.false(run.calls.some((c) => c.args.includes('add') || c.file === 'modprobe'), 'nothing was changed');
});

test('without the earlier task the missing device is still an error', async (t) => {
  const run = fakeExec({ 'ip -d -j addr show': { stdout: LINKS } });
  const ctx = ctxFor('/nonexistent', { exec: run, check: true });
  const results = await runTasks(TASKS.slice(1), MODULES, ctx, { check: true, diff: false }, () => {});
  t.is(results[0].status, 'failed');
  t.regex(results[0].msg!, /device tunl0 does not exist/);
});
