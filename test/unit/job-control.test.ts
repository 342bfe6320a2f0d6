import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobControl } from '../../agent/job-control.js';
import { JobJournal } from '../../agent/job-journal.js';
import type { RunJob } from '../../common/protocol.js';
import { fakeExec } from '../helpers/fake-ctx.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { captureLog } from '../helpers/log-capture.js';

/** Whether and how long a job runs on the agent, on a clock the test moves. */

function setup(stateDir?: string) {
  const timers = new FakeTimers();
  const { log } = captureLog();
  const journal = new JobJournal({ stateDir, log });
  return { timers, journal, control: new JobControl(journal, timers, fakeExec()) };
}

const job = (runId: string, over: Partial<RunJob> = {}): RunJob => ({ runId, run: runId.split('.')[0], host: 'server3', tasks: [{ name: 'a', module: 'file', args: {} }], check: false, diff: false, ...over });

test('a job id runs once: the same id again is known, also to the next agent over the same state folder', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-jobctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = setup(dir);
  t.deepEqual(first.control.receive(job('r1.0')), { kind: 'queued' });
  t.is(first.control.begin(job('r1.0')).kind, 'run');
  t.like(first.control.receive(job('r1.0')), { kind: 'duplicate', record: { job: 'r1.0', state: 'running' } });
  first.control.end(job('r1.0'), 5);
  await first.journal.flush();

  const restarted = setup(dir);
  t.like(restarted.control.receive(job('r1.0')), { kind: 'duplicate', record: { state: 'ended', ms: 5 } });
  t.deepEqual(restarted.control.receive(job('r1.3')), { kind: 'queued' }, 'another job of the same run is new');
  await restarted.journal.flush();
});

test('a job whose deadline passed while it waited never starts', async (t) => {
  const { timers, control, journal } = setup();
  control.receive(job('r1.0', { ttlMs: 5000 }));
  control.receive(job('r2.0', { ttlMs: 5000 }));
  // r1.0 holds the agent for 6 s (a hung task, say); r2.0 waited past its deadline.
  t.is(control.begin(job('r1.0', { ttlMs: 5000 })).kind, 'run');
  await timers.advance(6000);
  const turn = control.begin(job('r2.0', { ttlMs: 5000 }));
  t.is(turn.kind, 'refused');
  t.regex(turn.kind === 'refused' ? turn.why : '', /^not started: its deadline passed while it waited \(6 s; the controller stops waiting after 5 s\)$/);
  t.like(journal.get('r2.0'), { state: 'not-started', error: turn.kind === 'refused' ? turn.why : '' });
});

test('the deadline counts on the agent\'s own clock from when the job came, whatever the clocks say', async (t) => {
  const { timers, control } = setup();
  await timers.advance(1_000_000);
  control.receive(job('r1.0', { ttlMs: 5000 }));
  await timers.advance(4999);
  t.is(control.begin(job('r1.0', { ttlMs: 5000 })).kind, 'run', 'started 4.999 s after it came: in time');
});

test('a job still running at its deadline is stopped: its signal aborts with the reason', async (t) => {
  const { timers, control } = setup();
  control.receive(job('r1.0', { ttlMs: 5000 }));
  const turn = control.begin(job('r1.0', { ttlMs: 5000 }));
  if (turn.kind !== 'run') return t.fail();
  await timers.advance(4000);
  t.false(turn.stops.signal!.aborted);
  await timers.advance(1000);
  t.true(turn.stops.signal!.aborted);
  t.is((turn.stops.signal!.reason as Error).message, 'stopped: the controller stopped waiting for this job 5 s after sending it');
});

test('a job that ends in time leaves no deadline behind', async (t) => {
  const { timers, control } = setup();
  control.receive(job('r1.0', { ttlMs: 5000 }));
  control.begin(job('r1.0', { ttlMs: 5000 }));
  control.end(job('r1.0'), 10);
  t.deepEqual(timers.pendingTimeouts(), []);
  t.is(control.size, 0);
});

test('cancel: before its turn it never starts; running, it stops at the next task boundary, or at once with now', async (t) => {
  const { control, journal } = setup();
  control.receive(job('r1.0'));
  control.receive(job('r2.0'));
  control.receive(job('r3.0'));
  control.cancel({ runId: 'r2.0', reason: 'run cancelled', now: false });
  const r1 = control.begin(job('r1.0'));
  if (r1.kind !== 'run') return t.fail();
  control.cancel({ runId: 'r1.0', reason: 'given up by the controller', now: false });
  t.is(r1.stops.halted!(), 'cancelled: given up by the controller');
  t.false(r1.stops.signal!.aborted, 'the running task may finish');
  control.cancel({ runId: 'r1.0', reason: 'killed now', now: true });
  t.true(r1.stops.signal!.aborted);
  t.is((r1.stops.signal!.reason as Error).message, 'cancelled: killed now');
  control.end(job('r1.0'), 3);

  t.deepEqual(control.begin(job('r2.0')), { kind: 'refused', why: 'not started: cancelled (run cancelled)' });
  t.like(journal.get('r2.0'), { state: 'not-started' });
  t.is(control.begin(job('r3.0')).kind, 'run');
});

test('a cancel for a job not received yet keeps it from running when it comes', (t) => {
  const { control } = setup();
  control.cancel({ runId: 'r9.0', reason: 'given up by the controller (agent disconnected)', now: true });
  t.like(control.receive(job('r9.0')), { kind: 'duplicate', record: { state: 'not-started', error: 'cancelled before it came: given up by the controller (agent disconnected)' } });
});

test('the run-wide task limit travels with the job', (t) => {
  const { control } = setup();
  control.receive(job('r1.0', { taskTimeoutMs: 2000 }));
  const turn = control.begin(job('r1.0', { taskTimeoutMs: 2000 }));
  t.is(turn.kind === 'run' ? turn.stops.taskTimeoutMs : undefined, 2000);
});
