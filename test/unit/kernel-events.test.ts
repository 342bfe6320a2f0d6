import test from 'ava';
import type { LineExit, LineProcess, SpawnLines } from '../../common/exec.js';
import { IP_MONITOR, KernelEvents, type KernelChange } from '../../agent/watch/kernel-events.js';
import { FakeTimers, deferred, settle } from '../helpers/fake-timers.js';

/** A fake `ip monitor`: the test writes its lines and ends it. */
interface FakeProc {
  argv: string[];
  line(l: string): void;
  exit(e: Partial<LineExit>): void;
  stopped: boolean;
}

function fakeSpawn() {
  const procs: FakeProc[] = [];
  const spawn: SpawnLines = (file, args, onLine) => {
    const done = deferred<LineExit>();
    const p: FakeProc = {
      argv: [file, ...args],
      line: onLine,
      exit: (e) => done.resolve({ code: 1, signal: null, stderr: '', ...e }),
      stopped: false,
    };
    procs.push(p);
    const handle: LineProcess = {
      pid: 1000 + procs.length,
      exited: done.promise,
      async stop() {
        p.stopped = true;
        p.exit({ code: null, signal: 'SIGTERM' });
        return done.promise;
      },
    };
    return handle;
  };
  return { spawn, procs };
}

function setup(over: Partial<ConstructorParameters<typeof KernelEvents>[0]> = {}) {
  const timers = new FakeTimers();
  const { spawn, procs } = fakeSpawn();
  const changes: KernelChange[] = [];
  const logs: string[] = [];
  const ev = new KernelEvents({ timers, spawn, onChange: (c) => changes.push(c), onLog: (m) => logs.push(m), ...over });
  return { timers, procs, changes, logs, ev };
}

test('runs ip -o monitor address route link; a burst of lines is one change', async (t) => {
  const s = setup({ debounceMs: 100 });
  s.ev.start();
  t.deepEqual(s.procs.map((p) => p.argv), [[IP_MONITOR.file, ...IP_MONITOR.args]]);
  t.deepEqual(IP_MONITOR.args, ['-o', 'monitor', 'address', 'route', 'link']);
  s.procs[0].line('3: eth0    inet 172.25.7.200/32 scope global eth0');
  await s.timers.advance(50);
  s.procs[0].line('local 172.25.7.200 dev eth0 table local proto kernel scope host src 172.25.7.200');
  s.procs[0].line('');
  t.deepEqual(s.changes, []);
  await s.timers.advance(50);
  t.deepEqual(s.changes, [
    { reason: 'kernel', lines: ['3: eth0    inet 172.25.7.200/32 scope global eth0', 'local 172.25.7.200 dev eth0 table local proto kernel scope host src 172.25.7.200'] },
  ]);
  s.procs[0].line('Deleted 3: eth0    inet 172.25.7.200/32 scope global eth0');
  await s.timers.advance(100);
  t.is(s.changes.length, 2);
  await s.ev.stop();
  t.true(s.procs[0].stopped);
});

test('a monitor that dies is restarted with doubling backoff, says why, and reports a restart change', async (t) => {
  const s = setup({ backoff: { minMs: 1000, maxMs: 4000 }, stableMs: 60_000 });
  s.ev.start();
  s.procs[0].exit({ code: 255, stderr: 'RTNETLINK: cannot bind\n' });
  await settle();
  t.deepEqual(s.logs, ['kernel monitor ended (exit 255: RTNETLINK: cannot bind); restarting in 1000 ms']);
  await s.timers.advance(999);
  t.is(s.procs.length, 1);
  await s.timers.advance(1);
  t.is(s.procs.length, 2);
  t.deepEqual(s.changes, [{ reason: 'restart', lines: [] }], 'events may have been missed meanwhile: check');
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    s.procs.at(-1)!.exit({ code: 1 });
    await settle();
    delays.push(Number(/in (\d+) ms/.exec(s.logs.at(-1)!)![1]));
    await s.timers.advance(10_000);
  }
  t.deepEqual(delays, [2000, 4000, 4000], 'doubling, capped at maxMs');
  await s.timers.advance(60_000);
  s.procs.at(-1)!.exit({ code: null, signal: 'SIGKILL' });
  await settle();
  t.regex(s.logs.at(-1)!, /^kernel monitor ended \(signal SIGKILL\); restarting in 1000 ms$/, 'a monitor that ran stably starts over at minMs');
  t.is(s.ev.starts, 5);
  await s.ev.stop();
});

test('stop ends the monitor, cancels a pending restart and a pending burst', async (t) => {
  const s = setup();
  s.ev.start();
  s.procs[0].line('2: eth0: <BROADCAST> mtu 1500 state DOWN');
  await s.ev.stop();
  await s.timers.advance(1000);
  t.deepEqual(s.changes, []);
  t.is(s.timers.count, 0);

  const r = setup();
  r.ev.start();
  r.procs[0].exit({ code: 1 });
  await settle();
  await r.ev.stop();
  await r.timers.advance(60_000);
  t.is(r.procs.length, 1, 'no restart after stop');
});
