import test from 'ava';
import { readFileSync } from 'node:fs';
import { IpForms, readIp } from '../../agent/kstate/iproute.js';
import address from '../../agent/modules/address.js';
import gateway from '../../agent/modules/gateway.js';
import route from '../../agent/modules/route.js';
import tunnel from '../../agent/modules/tunnel.js';
import { runOne } from '../../agent/runner.js';
import { ctxFor, facts, fakeExec } from '../helpers/fake-ctx.js';
import { CMD, NO_JSON, sceneAnswers } from '../helpers/old-iproute.js';

/** Which form a table is read in is decided once per run, and each table is read once. */
const cmds = (calls: { file: string; args: string[] }[]) => calls.map((c) => [c.file, ...c.args].join(' '));
const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');
const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv' });

test('`-j` refused (exit 255): every module reads the text form, each table once per run', async (t) => {
  const exec = fakeExec(sceneAnswers('drift', 'text'));
  const ctx = ctxFor('/nonexistent', { exec, facts: RHEL6 });
  const vip = address.schema.parse({ address: '172.25.7.200/32', device: 'lo:0' });
  const cur = await address.read(vip, ctx);
  await address.read(address.schema.parse({ address: '172.25.7.3/24', device: 'eth0' }), ctx);
  await tunnel.read(tunnel.schema.parse({}), ctx);
  await route.read(route.schema.parse({ destination: 'default', gateway: '172.25.7.2' }), ctx);
  await gateway.read(gateway.schema.parse({ address: '172.25.7.2' }), ctx);
  t.deepEqual(cmds(exec.calls), [CMD.addrJson, CMD.links, CMD.addrs, CMD.routeJson, CMD.routes]);

  t.deepEqual(cur.addrs, [
    { local: '127.0.0.1', prefixlen: 8, label: 'lo', secondary: false },
    { local: '172.25.7.200', prefixlen: 24, label: 'lo', secondary: false },
  ]);
  await runOne(address, vip, ctx, { check: false, diff: false });
  await address.read(vip, ctx);
  await route.read(route.schema.parse({ destination: 'default', gateway: '172.25.7.2' }), ctx);
  t.deepEqual(cmds(exec.calls).slice(5), [
    'ip addr del 172.25.7.200/24 dev lo',
    'ip addr add 172.25.7.200/32 brd + dev lo label lo:0',
    CMD.links,
    CMD.addrs,
    CMD.routes,
  ], 'after apply the tables are read again, in text at once');
});

test('`-j` ignored (text where JSON was asked, as some releases do for routes): that table falls back alone', async (t) => {
  const exec = fakeExec({
    ...sceneAnswers('director', 'json'),
    [CMD.routeJson]: { stdout: fixture('route/director.txt') },
    [CMD.routes]: { stdout: fixture('route/director.txt') },
  });
  const ctx = ctxFor('/', { exec });
  const want = await route.read(route.schema.parse({ destination: 'default', gateway: '172.25.7.1' }), ctx);
  t.is(want.length, 6);
  await address.read(address.schema.parse({ address: '172.25.7.2/24', device: 'eth0' }), ctx);
  ctx.kernel.invalidate(['addresses', 'routes']);
  await address.read(address.schema.parse({ address: '172.25.7.2/24', device: 'eth0' }), ctx);
  await route.read(route.schema.parse({ destination: 'default', gateway: '172.25.7.1' }), ctx);
  t.deepEqual(cmds(exec.calls), [CMD.routeJson, CMD.routes, CMD.addrJson, CMD.addrJson, CMD.routes]);
  t.is(await ctx.kernel.forms.get('ip-route'), 'text');
  t.is(await ctx.kernel.forms.get('ip-addr'), 'json');
});

test('no ip at all: the read fails with the text command named', async (t) => {
  const missing = { code: 127, stderr: 'ip: command not found' };
  const exec = fakeExec({ [CMD.addrJson]: missing, [CMD.links]: missing, [CMD.addrs]: missing });
  const ctx = ctxFor('/', { exec });
  await t.throwsAsync(address.read(address.schema.parse({ address: '172.25.7.2', device: 'eth0' }), ctx), {
    message: 'ip -d -o link show: exit 127: ip: command not found',
  });
});

test('readIp: JSON read once and used; text decided once even when both tables load at once', async (t) => {
  const exec = fakeExec({ 'ip -j t1': { stdout: '[1]' }, 'ip -j t2': NO_JSON });
  const forms = new IpForms();
  let texts = 0;
  const table = (name: string) => ({
    name,
    json: ['-j', name],
    fromJson: (s: string) => JSON.parse(s) as number[],
    fromText: async () => (texts++, [2]),
  });
  // The table memo of KernelState, reduced to what this test needs.
  const memo = new Map<string, Promise<number[]>>();
  const read = (name: string) => memo.get(name) ?? memo.set(name, readIp(exec, forms, table(name))).get(name)!;
  t.deepEqual(await Promise.all([read('t1'), read('t2'), read('t2')]), [[1], [2], [2]]);
  memo.clear();
  t.deepEqual(await Promise.all([read('t1'), read('t2')]), [[1], [2]]);
  t.deepEqual(cmds(exec.calls), ['ip -j t1', 'ip -j t2', 'ip -j t1']);
  t.is(texts, 2);
});
