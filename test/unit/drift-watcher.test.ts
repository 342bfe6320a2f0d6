import test from 'ava';
import type { Finding } from '../../common/findings.js';
import { DriftWatcher, type FindingsDiff } from '../../agent/watch/drift-watcher.js';
import { FakeTimers, deferred, settle } from '../helpers/fake-timers.js';

const f = (field: string, before = 'x'): Finding => ({ task: 't', module: 'sysctl', field, before, after: '1', text: `${field} is ${before}, want 1` });

/** A watcher whose checks the test answers: each call takes the next queued answer, or waits for one. */
function setup(opts: { intervalMs?: number; debounceMs?: number } = {}) {
  const timers = new FakeTimers();
  const calls: number[] = [];
  const answers: { promise: Promise<Finding[]>; resolve: (v: Finding[]) => void; reject: (e: Error) => void }[] = [];
  const diffs: FindingsDiff[] = [];
  const errors: string[] = [];
  let running = 0;
  let overlapped = false;
  const w = new DriftWatcher({
    timers,
    ...opts,
    check: async () => {
      calls.push(timers.now());
      if (++running > 1) overlapped = true;
      const d = deferred<Finding[]>();
      answers.push(d);
      try {
        return await d.promise;
      } finally {
        running--;
      }
    },
    onDiff: (d) => diffs.push(d),
    onError: (e) => errors.push(e.message),
  });
  const answer = async (v: Finding[] | Error) => {
    const d = answers.shift()!;
    if (v instanceof Error) d.reject(v);
    else d.resolve(v);
    await settle();
  };
  return { w, timers, calls, diffs, errors, answer, overlapped: () => overlapped };
}

test('checks at start, then intervalMs after each check ends, never two at once', async (t) => {
  const s = setup({ intervalMs: 5000 });
  s.w.start();
  await settle();
  t.deepEqual(s.calls, [0]);
  await s.timers.advance(12_000);
  t.deepEqual(s.calls, [0], 'a slow check is not overlapped by the interval');
  await s.answer([]);
  await s.timers.advance(4999);
  t.is(s.calls.length, 1);
  await s.timers.advance(1);
  t.deepEqual(s.calls, [0, 17_000]);
  await s.answer([]);
  await s.timers.advance(5000);
  t.deepEqual(s.calls, [0, 17_000, 22_000]);
  t.false(s.overlapped());
  await s.answer([]);
  await s.w.stop();
});

test('kicks within the debounce window of the first make one check; a kick during a check makes one more after it', async (t) => {
  const s = setup({ intervalMs: 5000, debounceMs: 200 });
  s.w.start();
  await s.answer([]);
  await s.timers.advance(1000);
  s.w.kick();
  await s.timers.advance(100);
  s.w.kick();
  await s.timers.advance(99);
  s.w.kick();
  t.is(s.calls.length, 1);
  await s.timers.advance(1);
  t.deepEqual(s.calls, [0, 1200], 'the window runs from the first kick, so a stream of events cannot starve the check');
  s.w.kick();
  s.w.kick();
  await s.timers.advance(1000);
  t.is(s.calls.length, 2, 'no second check while one runs');
  await s.answer([]);
  t.deepEqual(s.calls, [0, 1200, 2200], 'exactly one more, at once');
  await s.answer([]);
  await s.timers.advance(4999);
  t.is(s.calls.length, 3, 'then the interval again, from the end of that check');
  await s.timers.advance(1);
  t.is(s.calls.length, 4);
  t.false(s.overlapped());
  await s.answer([]);
  await s.w.stop();
});

test('reports the first check, then only differences: appeared, changed, resolved', async (t) => {
  const s = setup({ intervalMs: 1000 });
  s.w.start();
  await s.answer([]);
  t.deepEqual(s.diffs.map((d) => [d.first, d.all.length]), [[true, 0]], 'the first check is reported even when clean');
  await s.timers.advance(1000);
  await s.answer([f('a'), f('b')]);
  await s.timers.advance(1000);
  await s.answer([f('a'), f('b')]);
  await s.timers.advance(1000);
  await s.answer([f('a', 'y'), f('c')]);
  const fields = (d: FindingsDiff) => [d.appeared, d.changed, d.resolved].map((l) => l.map((x) => x.field).join(','));
  t.deepEqual(s.diffs.slice(1).map(fields), [
    ['a,b', '', ''],
    ['c', 'a', 'b'],
  ], 'the unchanged third check is not reported');
  t.deepEqual(s.w.findings().map((x) => x.field), ['a', 'c']);
  t.is(s.diffs[2].at, 3000);
  await s.w.stop();
});

test('a failed check is reported as an error, keeps the findings, and the watch goes on', async (t) => {
  const s = setup({ intervalMs: 1000 });
  s.w.start();
  await s.answer([f('a')]);
  await s.timers.advance(1000);
  await s.answer(new Error('ipvsadm: exit 2'));
  t.deepEqual(s.errors, ['ipvsadm: exit 2']);
  t.deepEqual(s.w.findings().map((x) => x.field), ['a'], 'a failure resolves nothing');
  await s.timers.advance(1000);
  t.is(s.calls.length, 3);
  await s.answer([f('a')]);
  t.is(s.diffs.length, 1, 'nothing changed across the failure');
  t.is(s.w.checks, 3);
  await s.w.stop();
});

test('pause waits for the check under way and holds every check; resume checks at once; stop ends all', async (t) => {
  const s = setup({ intervalMs: 1000, debounceMs: 50 });
  s.w.start();
  let paused = false;
  const p = s.w.pause().then(() => (paused = true));
  await settle();
  t.false(paused, 'pause waits for the running check');
  await s.answer([]);
  await p;
  t.true(paused);
  s.w.kick();
  await s.timers.advance(10_000);
  t.is(s.calls.length, 1, 'neither kicks nor the interval check while paused');
  s.w.resume();
  await settle();
  t.deepEqual(s.calls, [0, 10_000]);
  await s.answer([]);
  await s.w.stop();
  s.w.kick();
  await s.timers.advance(10_000);
  t.is(s.calls.length, 2);
  t.is(s.timers.count, 0, 'no timer left behind');
});
