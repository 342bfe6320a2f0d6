import test from 'ava';
import { CheckScheduler, transitionBoundMs, type ProbeSpec, type RealServerTransition, type RunCheck } from '../../agent/health/scheduler.js';
import { checkSchema } from '../../agent/health/schema.js';
import type { CheckResult } from '../../agent/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

/**
 * The scheduler's logic on an injected clock: a fake world answers each check after `latency`
 * fake milliseconds with the health the test gave that server. No sleeping, no sockets.
 */

const OK: CheckResult = { ok: true, detail: 'HTTP 200' };
const FAIL: CheckResult = { ok: false, reason: 'HTTP 503' };
const SVC = 'tcp:172.25.7.200:80';

function spec(n: number, check: Record<string, unknown> = {}): ProbeSpec {
  const realServer = `172.25.7.${n}:80`;
  return {
    id: `${SVC} ${realServer}`,
    service: SVC,
    realServer,
    check: checkSchema.parse({ type: 'http', ...check }),
    target: { address: `172.25.7.${n}`, port: 80, protocol: 'tcp', vip: '172.25.7.200', vport: 80 },
  };
}

function world(opts: { latency?: number } = {}) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const health = new Map<string, CheckResult | 'hang' | 'throw'>();
  const starts: { id: string; at: number }[] = [];
  const inFlight = new Map<string, number>();
  let maxInFlightPerServer = 0;
  let maxInFlightTotal = 0;
  const transitions: RealServerTransition[] = [];
  const runCheck: RunCheck = (s) => {
    starts.push({ id: s.id, at: clock.now() - t0 });
    const n = (inFlight.get(s.id) ?? 0) + 1;
    inFlight.set(s.id, n);
    maxInFlightPerServer = Math.max(maxInFlightPerServer, n);
    maxInFlightTotal = Math.max(maxInFlightTotal, [...inFlight.values()].reduce((a, b) => a + b, 0));
    const answer = health.get(s.id) ?? OK;
    return new Promise((resolve, reject) => {
      if (answer === 'hang') return;
      clock.setTimeout(() => {
        inFlight.set(s.id, inFlight.get(s.id)! - 1);
        if (answer === 'throw') reject(new Error('boom'));
        else resolve(answer);
      }, opts.latency ?? 10);
    });
  };
  const sched = new CheckScheduler({ clock, runCheck, onTransition: (t) => transitions.push(t) });
  return {
    clock,
    sched,
    transitions,
    starts,
    set: (s: ProbeSpec, r: CheckResult | 'hang' | 'throw') => health.set(s.id, r),
    startsOf: (s: ProbeSpec) => starts.filter((x) => x.id === s.id).map((x) => x.at),
    get max() {
      return { perServer: maxInFlightPerServer, total: maxInFlightTotal };
    },
    at: () => clock.now() - t0,
  };
}

test('fall: a server goes down after fall failures in a row, with the last reason and the check duration', async (t) => {
  const w = world({ latency: 40 });
  const a = spec(3, { fall: 3 });
  w.sched.update([a]);
  w.sched.start();
  // each check answers 40 ms after it starts; every step below ends just after an answer
  await w.clock.advance(4100); // checks at 0, 2000, 4000 pass
  t.deepEqual(w.transitions, []);
  w.set(a, FAIL);
  await w.clock.advance(2000); // 6000: failure 1
  w.set(a, OK);
  await w.clock.advance(1000); // 7000 (retry interval): pass, the count starts again
  w.set(a, FAIL);
  await w.clock.advance(2000); // 9000: 1
  await w.clock.advance(1000); // 10000: 2
  t.deepEqual(w.transitions, []);
  w.set(a, { ok: false, reason: 'connect refused' });
  await w.clock.advance(1000); // 11000: 3 -> down
  t.is(w.transitions.length, 1);
  t.like(w.transitions[0], { kind: 'realserver', service: SVC, realServer: '172.25.7.3:80', from: 'up', to: 'down', reason: 'connect refused', checkMs: 40 });
  t.is(w.transitions[0].at - (w.clock.now() - w.at()), 11040);
  t.like(w.sched.get(a.id), { state: 'down', reason: 'connect refused', failStreak: 3, downTransitions: 1, lastCheckMs: 40, checks: 8, failures: 4 });
  t.deepEqual(w.startsOf(a), [0, 2000, 4000, 6000, 7000, 9000, 10000, 11000]);
});

test('rise: a down server comes back after rise passes in a row; the reason stays the last failure while down', async (t) => {
  const w = world();
  const a = spec(3, { rise: 3, fall: 1 });
  w.sched.update([a]);
  w.sched.start();
  w.set(a, FAIL);
  await w.clock.advance(10); // the first check answers after 10 ms
  t.like(w.sched.get(a.id), { state: 'down', reason: 'HTTP 503' });
  w.set(a, { ok: false, reason: 'timeout 1 s' });
  await w.clock.advance(2000);
  t.like(w.sched.get(a.id), { state: 'down', reason: 'timeout 1 s' }, 'the reason follows the latest failure');
  w.set(a, OK);
  await w.clock.advance(2000); // pass 1
  await w.clock.advance(1000); // pass 2
  w.set(a, FAIL);
  await w.clock.advance(1000); // fail: count restarts
  w.set(a, OK);
  await w.clock.advance(2000); // 1
  await w.clock.advance(1000); // 2
  t.is(w.transitions.length, 1);
  await w.clock.advance(1000); // 3 -> up
  t.is(w.transitions.length, 2);
  t.like(w.transitions[1], { from: 'down', to: 'up', reason: 'HTTP 200' });
  t.like(w.sched.get(a.id), { state: 'up', okStreak: 3, downTransitions: 1 });
  t.is(w.sched.get(a.id)!.reason, undefined);
});

test('alpha: a new server starts down ("not checked yet") and one pass brings it up, whatever rise says', async (t) => {
  const w = world();
  const a = spec(3, { alpha: true, rise: 5 });
  const b = spec(4, { alpha: true });
  w.set(b, { ok: false, reason: 'connect refused' });
  w.sched.update([a, b]);
  t.like(w.sched.get(a.id), { state: 'down', reason: 'not checked yet' });
  w.sched.start();
  await w.clock.advance(1500);
  t.deepEqual(
    w.transitions.map((x) => [x.realServer, x.to, x.reason]),
    [['172.25.7.3:80', 'up', 'HTTP 200']],
  );
  t.like(w.sched.get(b.id), { state: 'down', reason: 'connect refused', downTransitions: 0 }, 'still down, now with a real reason, and no transition');
  w.set(b, OK);
  await w.clock.advance(1600); // b: next check at 3000 (down, no pass yet: the full interval)
  t.like(w.sched.get(b.id), { state: 'up' });
  // after its first pass the server is like any other: fall, then rise 5 apply
  w.set(a, FAIL);
  await w.clock.advance(2000); // a: 4000 fail, 5000 fail -> down
  t.like(w.sched.get(a.id), { state: 'down', reason: 'HTTP 503' });
  w.set(a, OK);
  await w.clock.advance(2500); // a: 7000 pass 1 of 5
  t.like(w.sched.get(a.id), { state: 'down', okStreak: 1 });
});

test('without alpha a new server starts up', (t) => {
  const w = world();
  w.sched.update([spec(3)]);
  t.like(w.sched.get(spec(3).id), { state: 'up', downTransitions: 0, checks: 0 });
});

test('first checks are spread over the interval (warmup), then each server keeps its own start-to-start interval', async (t) => {
  const w = world({ latency: 700 });
  const servers = [3, 4, 5, 6].map((n) => spec(n));
  w.sched.update(servers);
  w.sched.start();
  await w.clock.advance(4999);
  t.deepEqual(servers.map((s) => w.startsOf(s)), [
    [0, 2000, 4000],
    [500, 2500, 4500],
    [1000, 3000],
    [1500, 3500],
  ]);
  t.true(w.max.total > 1, 'servers are checked concurrently');
});

test('after a failure (or a pass while down) the next check comes at retry_interval, half the interval by default', async (t) => {
  const w = world();
  const a = spec(3, { fall: 3 });
  const b = spec(4, { fall: 3, interval: 4, retry_interval: 0.5 });
  w.set(a, FAIL);
  w.set(b, FAIL);
  w.sched.update([a, b]);
  w.sched.start();
  await w.clock.advance(4000);
  // a: 3 failures 1 s apart take it down; down and failing, it is back on its 2 s interval
  t.deepEqual(w.startsOf(a), [0, 1000, 2000, 4000]);
  // b: second of two spread over its own 4 s interval, then 0.5 s apart until down
  t.deepEqual(w.startsOf(b), [2000, 2500, 3000]);
  t.like(w.sched.get(a.id), { state: 'down' });
  t.like(w.sched.get(b.id), { state: 'down' });
});

test('a check slower than the interval delays the next one; a server is never checked twice at once', async (t) => {
  const w = world({ latency: 2500 });
  const a = spec(3, { interval: 2, timeout: 2 });
  w.sched.update([a]);
  w.sched.start();
  await w.clock.advance(10_000);
  t.deepEqual(w.startsOf(a), [0, 2500, 5000, 7500, 10_000]);
  t.is(w.max.perServer, 1);
});

test('a checker that never answers counts as a timeout (the watchdog), one that throws as an error', async (t) => {
  const w = world();
  const a = spec(3, { fall: 1 });
  const b = spec(4, { fall: 1 });
  w.set(a, 'hang');
  w.set(b, 'throw');
  w.sched.update([a, b]);
  w.sched.start();
  await w.clock.advance(3000);
  t.like(w.sched.get(a.id), { state: 'down', reason: 'timeout 1 s' });
  t.like(w.sched.get(b.id), { state: 'down', reason: 'error: boom' });
});

test('update: a removed server stops being checked, a changed check restarts its count, a late result of the old check is dropped', async (t) => {
  const w = world({ latency: 500 });
  const a = spec(3, { fall: 2 });
  const b = spec(4);
  w.sched.update([a, b]);
  w.sched.start();
  w.set(a, FAIL);
  await w.clock.advance(100); // a's first check is in flight (fails at 500)
  const changed = spec(3, { fall: 2, path: '/health' });
  w.sched.update([changed]); // b removed, a changed mid-check
  await w.clock.advance(900);
  t.like(w.sched.get(a.id), { failStreak: 1 }, 'the in-flight failure of the old check did not count');
  t.is(w.sched.get(b.id), undefined);
  const bChecks = w.startsOf(b).length;
  await w.clock.advance(10_000);
  t.is(w.startsOf(b).length, bChecks);
  t.like(w.sched.get(a.id), { state: 'down' });
  t.is(w.max.perServer, 1);
});

test('stop: no check starts after it, and a result in flight is dropped', async (t) => {
  const w = world({ latency: 500 });
  const a = spec(3, { fall: 1 });
  w.sched.update([a]);
  w.sched.start();
  w.set(a, FAIL);
  await w.clock.advance(100);
  w.sched.stop();
  await w.clock.advance(10_000);
  t.is(w.startsOf(a).length, 1);
  t.like(w.sched.get(a.id), { state: 'up', checks: 0 });
  t.is(w.clock.pending, 0, 'no timer left behind');
});

test('restored states are kept: a server down before a restart stays down, alpha does not apply to it', async (t) => {
  const w = world();
  const a = spec(3, { alpha: true });
  const b = spec(4, { alpha: true });
  w.sched.update([a, b], {
    [a.id]: { state: 'down', reason: 'HTTP 503', since: 1, downTransitions: 4 },
    [b.id]: { state: 'up', since: 1, downTransitions: 2 },
  });
  t.like(w.sched.get(a.id), { state: 'down', reason: 'HTTP 503', since: 1, downTransitions: 4 });
  t.like(w.sched.get(b.id), { state: 'up', downTransitions: 2 });
  w.sched.start();
  await w.clock.advance(1000); // a passes once: rise 2 applies to a restored server
  t.like(w.sched.get(a.id), { state: 'down' });
  await w.clock.advance(1000);
  t.like(w.sched.get(a.id), { state: 'up', downTransitions: 4 });
});

test('type none: never checked, always up; a server that was down comes up when its check is removed', async (t) => {
  const w = world();
  const a = { ...spec(3), check: { type: 'none' as const } };
  w.sched.update([a], { [a.id]: { state: 'down', reason: 'HTTP 503', since: 1, downTransitions: 1 } });
  t.like(w.transitions[0], { from: 'down', to: 'up', reason: 'no check', checkMs: 0 });
  w.sched.start();
  await w.clock.advance(10_000);
  t.is(w.starts.length, 0);
  t.like(w.sched.get(a.id), { state: 'up', check: 'none' });
});

test('transitionBoundMs: the worst case (a server dies just after a check started, every check takes its whole timeout) meets the bound', async (t) => {
  for (const c of [{}, { fall: 3, rise: 1 }, { interval: 5, timeout: 2, retry_interval: 1, fall: 2 }, { interval: 1, timeout: 1, fall: 4 }]) {
    const a = spec(3, c);
    const w = world({ latency: a.check.type === 'http' ? a.check.timeout * 1000 : 0 });
    w.sched.update([a]);
    w.sched.start();
    await w.clock.advance(1); // the first check has started, and will pass
    w.set(a, FAIL);
    const died = w.at();
    await w.clock.advance(60_000);
    const down = w.transitions[0].at - (w.clock.now() - w.at());
    const bound = transitionBoundMs(a.check as Extract<typeof a.check, { type: 'http' }>, 'down');
    t.true(down - died <= bound, `${JSON.stringify(c)}: down after ${down - died} ms, bound ${bound} ms`);
    t.true(down - died > bound - 10, `${JSON.stringify(c)}: the bound is tight (${down - died} ms vs ${bound} ms)`);
    w.sched.stop();
  }
  t.is(transitionBoundMs(checkSchema.parse({ type: 'tcp' }) as Extract<ReturnType<typeof checkSchema.parse>, { type: 'tcp' }>, 'down'), 4000, 'defaults: 2 + 1 + 1 s');
});
