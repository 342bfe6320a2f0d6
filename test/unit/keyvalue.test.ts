import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import keyvalue, { currentValue, renderValue } from '../../agent/modules/keyvalue.js';
import { runOne } from '../../agent/runner.js';
import { ctxFor, tempRoot } from '../helpers/fake-ctx.js';

const NETWORK = 'NETWORKING=yes\nHOSTNAME=server3.example.com\n';

test('currentValue reads shell assignments, last one wins, quotes removed', (t) => {
  t.is(currentValue(NETWORK, 'HOSTNAME'), 'server3.example.com');
  t.is(currentValue('GATEWAY=1.2.3.4\nGATEWAY="172.25.7.2"\n', 'GATEWAY'), '172.25.7.2');
  t.is(currentValue("export X='a b'\n", 'X'), 'a b');
  t.is(currentValue(NETWORK, 'GATEWAY'), null);
  t.is(currentValue(null, 'GATEWAY'), null);
});

test('renderValue quotes only when a shell would need it', (t) => {
  t.is(renderValue('172.25.7.2'), '172.25.7.2');
  t.is(renderValue('a b'), '"a b"');
  t.is(renderValue('$(reboot)'), '"\\$(reboot)"');
  t.is(renderValue(''), '""');
});

test('plan: adds, replaces duplicates, leaves a converged file alone', (t) => {
  const ctx = ctxFor('/');
  const args = keyvalue.schema.parse({ path: '/etc/sysconfig/network', key: 'GATEWAY', value: '172.25.7.2' });
  const add = keyvalue.plan(args, { text: NETWORK }, ctx);
  t.deepEqual(add.changes, [{ kind: 'write', text: NETWORK + 'GATEWAY=172.25.7.2\n' }]);
  t.is(add.before, 'GATEWAY=(unset)\n');
  t.is(add.after, 'GATEWAY=172.25.7.2\n');
  t.deepEqual(keyvalue.plan(args, { text: NETWORK + 'GATEWAY=172.25.7.2\n' }, ctx).changes, []);
  const dup = keyvalue.plan(args, { text: 'GATEWAY=172.25.7.2\nX=1\nGATEWAY=172.25.7.2\n' }, ctx);
  t.deepEqual(dup.changes, [{ kind: 'write', text: 'GATEWAY=172.25.7.2\nX=1\n' }]);
  const absent = keyvalue.schema.parse({ path: '/etc/sysconfig/network', key: 'GATEWAY', state: 'absent' });
  t.deepEqual(keyvalue.plan(absent, { text: NETWORK + 'GATEWAY=1.1.1.1\n' }, ctx).changes, [{ kind: 'write', text: NETWORK }]);
});

test('schema refuses bad keys, multi-line values and present without value', (t) => {
  t.false(keyvalue.schema.safeParse({ path: '/etc/x', key: 'GATE WAY', value: '1' }).success);
  t.false(keyvalue.schema.safeParse({ path: '/etc/x', key: 'A', value: '1\nB=2' }).success);
  t.false(keyvalue.schema.safeParse({ path: '/etc/x', key: 'A' }).success);
});

test('apply twice on a real root: changed, then ok; check mode changes nothing', async (t) => {
  const { root, cleanup } = tempRoot();
  t.teardown(cleanup);
  const file = path.join(root, 'etc/sysconfig/network');
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, NETWORK);
  const ctx = ctxFor(root);
  const args = keyvalue.schema.parse({ path: '/etc/sysconfig/network', key: 'GATEWAY', value: '172.25.7.2' });
  t.true((await runOne(keyvalue, args, ctx, { check: false, diff: false })).changed);
  t.false((await runOne(keyvalue, args, ctx, { check: false, diff: false })).changed);
  t.is(await fs.readFile(file, 'utf8'), NETWORK + 'GATEWAY=172.25.7.2\n');
  await fs.writeFile(file, NETWORK + 'GATEWAY=10.0.0.1\n');
  t.true((await runOne(keyvalue, args, ctx, { check: true, diff: false })).changed);
  t.is(await fs.readFile(file, 'utf8'), NETWORK + 'GATEWAY=10.0.0.1\n');
});
