import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RealServerChange } from '../../agent/health/adjust.js';
import type { HealthArgs } from '../../agent/health/config.js';
import { HealthMonitor, type HealthMonitorOptions } from '../../agent/health/monitor.js';
import type { RunCheck } from '../../agent/health/scheduler.js';
import { healthStatePath } from '../../agent/health/state-file.js';
import type { CheckResult, HealthTransition } from '../../agent/health/types.js';
import type { VirtualService } from '../../agent/ipvs/table.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** The facade on an injected clock: checks answered by a fake world, apply recorded, state in a temp folder. */

const SVC = 'tcp:172.25.7.200:80';
const OK: CheckResult = { ok: true, detail: 'HTTP 200' };
const DOWN: CheckResult = { ok: false, reason: 'HTTP 503' };

function args(service: object = {}, check: object = {}): HealthArgs {
  const rs = (n: number, weight: number) => ({ address: `172.25.7.${n}`, forwarding: 'dr', weight });
  return {
    services: [
      {
        protocol: 'tcp',
        address: '172.25.7.200',
        port: 80,
        scheduler: 'wrr',
        quorum: 1,
        hysteresis: 0,
        healthcheck: { type: 'http', path: '/', status: '200-399', interval: 2, timeout: 1, fall: 2, rise: 2, on_failure: 'inhibit', alpha: false, ...check },
        realServers: [rs(3, 3), rs(4, 1)],
        ...service,
      },
    ],
  } as unknown as HealthArgs;
}

interface Applied {
  services: VirtualService[];
  changed: RealServerChange[];
}

function harness(t: { teardown: (fn: () => void | Promise<void>) => void }, dir?: string, over: Partial<HealthMonitorOptions> = {}) {
  const clock = new FakeClock();
  const health = new Map<string, CheckResult>();
  const applied: Applied[] = [];
  const transitions: HealthTransition[] = [];
  const errors: string[] = [];
  const runCheck: RunCheck = (spec) =>
    new Promise((resolve) => {
      const r = health.get(spec.target.address) ?? OK;
      clock.setTimeout(() => resolve(r), 20);
    });
  const monitor = new HealthMonitor({
    clock,
    runCheck,
    ...(dir ? { stateDir: dir } : {}),
    apply: async (services, changed) => void applied.push({ services, changed }),
    onTransition: (x) => transitions.push(x),
    onError: (e) => errors.push(e.message),
    ...over,
  });
  t.teardown(() => monitor.stop());
  return { clock, monitor, applied, transitions, errors, set: (addr: string, r: CheckResult) => health.set(addr, r) };
}

const weights = (s: VirtualService[]) => s.flatMap((v) => v.realServers.map((r) => `${r.address}=${r.weight}`));

async function tmp(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvst-monitor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a server that fails is inhibited through apply, and comes back at its declared weight', async (t) => {
  const h = harness(t);
  const first = h.monitor.configure(args());
  t.deepEqual(weights(first.services), ['172.25.7.3=3', '172.25.7.4=1'], 'configure returns the table the run puts in place');
  h.monitor.start();
  await h.clock.advance(3000);
  t.deepEqual(h.applied, [], 'nothing to apply while all is well');
  h.set('172.25.7.3', DOWN);
  await h.clock.advance(4000);
  t.deepEqual(h.transitions, [{ kind: 'realserver', service: SVC, realServer: '172.25.7.3:80', from: 'up', to: 'down', reason: 'HTTP 503', at: h.transitions[0]?.at, checkMs: 20 }]);
  t.is(h.applied.length, 1);
  t.deepEqual(weights(h.applied[0].services), ['172.25.7.3=0', '172.25.7.4=1']);
  t.deepEqual(h.applied[0].changed, [{ service: SVC, realServer: '172.25.7.3:80', from: 3, to: 0 }]);
  h.set('172.25.7.3', OK);
  await h.clock.advance(4000);
  t.is(h.applied.length, 2);
  t.deepEqual(h.applied[1].changed, [{ service: SVC, realServer: '172.25.7.3:80', from: 0, to: 3 }]);
  t.deepEqual(h.transitions.map((x) => `${x.kind} ${'to' in x ? x.to : ''} ${x.reason}`), ['realserver down HTTP 503', 'realserver up HTTP 200']);
});

test('quorum: both servers down bring the sorry server in, one back takes it out', async (t) => {
  const h = harness(t);
  h.monitor.configure(args({ sorry_server: '172.25.7.250' }, { fall: 1, rise: 1 }));
  h.monitor.start();
  h.set('172.25.7.3', DOWN);
  h.set('172.25.7.4', { ok: false, reason: 'connect refused' });
  await h.clock.advance(1100);
  t.deepEqual(h.transitions.map((x) => x.reason), ['HTTP 503', 'connect refused', 'quorum lost', 'sorry server in']);
  t.deepEqual(weights(h.applied.at(-1)!.services), ['172.25.7.3=0', '172.25.7.4=0', '172.25.7.250=1']);
  h.set('172.25.7.4', OK);
  await h.clock.advance(2000);
  t.deepEqual(h.transitions.slice(4).map((x) => x.reason), ['HTTP 200', 'quorum regained', 'sorry server out']);
  const last = h.applied.at(-1)!;
  t.deepEqual(weights(last.services), ['172.25.7.3=0', '172.25.7.4=1']);
  t.deepEqual(last.changed, [
    { service: SVC, realServer: '172.25.7.4:80', from: 0, to: 1 },
    { service: SVC, realServer: '172.25.7.250:80', from: 1, to: null },
  ]);
  const snap = h.monitor.snapshot().services[0];
  t.deepEqual(snap.quorum, { held: true, quorum: 1, hysteresis: 0, liveWeight: 1 });
  t.deepEqual(snap.sorryServer, { realServer: '172.25.7.250:80', in: false });
});

test('drain: weight 0 with a "drained" transition, kept until undrained; the live weight drops', async (t) => {
  const h = harness(t);
  h.monitor.configure(args());
  h.monitor.setDrained(['172.25.7.3']);
  await h.monitor.idle();
  t.like(h.transitions[0], { kind: 'drain', realServer: '172.25.7.3:80', to: 'drained', reason: 'drained' });
  t.deepEqual(weights(h.applied[0].services), ['172.25.7.3=0', '172.25.7.4=1']);
  t.is(h.monitor.snapshot().services[0].quorum.liveWeight, 1);
  h.monitor.setDrained([]);
  await h.monitor.idle();
  t.like(h.transitions[1], { kind: 'drain', to: 'serving', reason: 'undrained' });
  t.deepEqual(h.applied[1].changed, [{ service: SVC, realServer: '172.25.7.3:80', from: 0, to: 3 }]);
});

test('snapshot: declared and live weight, state and reason, last check time and duration, counters', async (t) => {
  const h = harness(t);
  h.monitor.configure(args());
  h.monitor.start();
  h.set('172.25.7.4', DOWN);
  await h.clock.advance(2500);
  const s = h.monitor.snapshot();
  t.is(s.services[0].service, SVC);
  const [r3, r4] = s.services[0].realServers;
  t.like(r3, { realServer: '172.25.7.3:80', declaredWeight: 3, weight: 3, state: 'up', note: 'up', check: 'http', lastResult: 'HTTP 200', lastCheckMs: 20, failStreak: 0 });
  t.like(r4, { realServer: '172.25.7.4:80', declaredWeight: 1, weight: 0, state: 'down', reason: 'HTTP 503', note: 'down (HTTP 503)', lastResult: 'HTTP 503', lastCheckMs: 20, downTransitions: 1, failures: 2 });
  t.is(typeof r4.lastCheckAt, 'number');
  t.true(r4.lastCheckAt! <= s.at);
});

test('the state survives a restart: states, quorum and drain come back, the kernel is brought to them, checks go on', async (t) => {
  const dir = await tmp(t);
  const one = harness(t, dir);
  one.monitor.configure(args({ sorry_server: '172.25.7.250' }, { fall: 1 }));
  one.monitor.setDrained(['172.25.7.4']);
  one.monitor.start();
  one.set('172.25.7.3', DOWN);
  await one.clock.advance(1100);
  t.deepEqual(one.transitions.map((x) => x.reason), ['drained', 'HTTP 503', 'quorum lost', 'sorry server in']);
  await one.monitor.stop();

  const two = harness(t, dir);
  t.true(await two.monitor.restore());
  await two.monitor.idle();
  t.deepEqual(two.transitions, [], 'nothing changed, nothing to report');
  const snap = two.monitor.snapshot();
  t.deepEqual(snap.drained, ['172.25.7.4']);
  t.like(snap.services[0].realServers[0], { state: 'down', reason: 'HTTP 503', downTransitions: 1 });
  t.deepEqual(snap.services[0].sorryServer, { realServer: '172.25.7.250:80', in: true });
  t.is(two.applied.length, 1, 'after a restart the adjusted table is applied again, the kernel may have lost it');
  t.deepEqual(weights(two.applied[0].services), ['172.25.7.3=0', '172.25.7.4=0', '172.25.7.250=1']);
  two.monitor.start();
  two.monitor.setDrained([]);
  await two.clock.advance(5000);
  t.deepEqual(two.transitions.map((x) => x.reason), ['undrained', 'quorum regained', 'sorry server out', 'HTTP 200']);
});

test('a state file that cannot be read is reported and the monitor starts empty', async (t) => {
  const dir = await tmp(t);
  await writeFile(healthStatePath(dir), '{"version": 7}');
  const h = harness(t, dir);
  t.false(await h.monitor.restore());
  t.regex(h.errors[0], /health\.json: version: /);
  t.deepEqual(h.monitor.snapshot().services, []);
});

test('a failed apply is reported and retried until it succeeds', async (t) => {
  let fail = 2;
  const calls: RealServerChange[][] = [];
  const h = harness(t, undefined, {
    applyRetryMs: 5000,
    apply: async (_s, changed) => {
      calls.push(changed);
      if (fail-- > 0) throw new Error('ipvsadm -R: exit 1');
    },
  });
  h.monitor.configure(args({}, { fall: 1 }));
  h.monitor.start();
  h.set('172.25.7.3', DOWN);
  await h.clock.advance(100);
  t.is(calls.length, 1);
  t.deepEqual(h.errors, ['health: applying the adjusted table failed: ipvsadm -R: exit 1']);
  await h.clock.advance(10_000);
  t.is(calls.length, 3);
  t.deepEqual(calls[2], [{ service: SVC, realServer: '172.25.7.3:80', from: 3, to: 0 }], 'the retry still carries the change');
  await h.clock.advance(10_000);
  t.is(calls.length, 3, 'no apply once it succeeded and nothing changed');
});

test('preview: what a run would put in place now, changing nothing (alpha: new servers down, sorry server in)', async (t) => {
  const h = harness(t);
  const p = h.monitor.preview(args({ sorry_server: '172.25.7.250' }, { alpha: true }));
  t.deepEqual(weights(p.services), ['172.25.7.3=0', '172.25.7.4=0', '172.25.7.250=1']);
  t.is(p.notes[0].note, 'down (not checked yet)');
  t.deepEqual(h.monitor.snapshot().services, []);
  t.deepEqual(h.transitions, []);
});

test('sources: each ipvs task owns its services; reconfiguring one source leaves the others checked', async (t) => {
  const h = harness(t);
  const other = args({ address: '172.25.7.201' });
  h.monitor.configure(args(), 'web');
  h.monitor.configure(other, 'web2');
  t.deepEqual(h.monitor.snapshot().services.map((s) => s.service), [SVC, 'tcp:172.25.7.201:80']);
  h.monitor.configure({ services: [] }, 'web');
  t.deepEqual(h.monitor.snapshot().services.map((s) => s.service), ['tcp:172.25.7.201:80']);
  h.monitor.start();
  h.set('172.25.7.3', DOWN);
  await h.clock.advance(5000);
  t.deepEqual(h.transitions.map((x) => x.service), ['tcp:172.25.7.201:80'], 'only the service still configured is checked');
});
