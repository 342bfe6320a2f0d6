import test from 'ava';
import { HostLocks } from '../../controller/host-locks.js';
import { settle } from '../helpers/fake-timers.js';

/** One run per host, first come first served, and who waits for whom. */

test('runs take a host in turn; each knows the run ahead of it, and busy() names the holder', async (t) => {
  const locks = new HostLocks();
  const order: string[] = [];
  const a = locks.take('server2', 'A');
  const b = locks.take('server2', 'B');
  const c = locks.take('server2', 'C');
  t.is(a.ahead, undefined);
  t.is(b.ahead, 'A');
  t.is(c.ahead, 'B');
  for (const [name, l] of [['A', a], ['B', b], ['C', c]] as const) void l.ready.then(() => order.push(name));
  await settle();
  t.deepEqual(order, ['A']);
  t.deepEqual(locks.busy(['server2', 'server3']), [{ host: 'server2', run: 'A' }]);
  a.release();
  await settle();
  t.deepEqual(order, ['A', 'B']);
  t.deepEqual(locks.busy(['server2']), [{ host: 'server2', run: 'B' }]);
  b.release();
  c.release();
  await settle();
  t.deepEqual(order, ['A', 'B', 'C']);
  t.deepEqual(locks.busy(['server2']), []);
});

test('a run that gives up waiting leaves the line without letting the next one jump the holder', async (t) => {
  const locks = new HostLocks();
  const a = locks.take('server2', 'A');
  const b = locks.take('server2', 'B');
  const c = locks.take('server2', 'C');
  let cHeld = false;
  void c.ready.then(() => (cHeld = true));
  b.release();
  await settle();
  t.false(cHeld, 'A still holds the host');
  t.deepEqual(locks.busy(['server2']), [{ host: 'server2', run: 'A' }]);
  a.release();
  await settle();
  t.true(cHeld);
  t.deepEqual(locks.busy(['server2']), [{ host: 'server2', run: 'C' }]);
  c.release();
});

test('a run holding several hosts: all taken in one tick, so two runs never wait on each other', async (t) => {
  const locks = new HostLocks();
  const x = ['server2', 'server3'].map((h) => locks.take(h, 'X'));
  const y = ['server3', 'server2'].map((h) => locks.take(h, 'Y'));
  let yHeld = false;
  void Promise.all(y.map((l) => l.ready)).then(() => (yHeld = true));
  await Promise.all(x.map((l) => l.ready));
  t.false(yHeld);
  for (const l of x) l.release();
  await settle();
  t.true(yHeld);
});
