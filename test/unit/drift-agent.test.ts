import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { Agent } from '../../agent/agent.js';
import { DESIRED_STATE_FILE } from '../../agent/drift-agent.js';
import { defineModule, type AnyModule } from '../../agent/module.js';
import type { DesiredState, DriftReport } from '../../common/desired-state.js';
import type { RenderedTask, RunJob } from '../../common/protocol.js';
import { FakeAgentSocket } from '../helpers/fake-agent-socket.js';
import { facts } from '../helpers/fake-ctx.js';
import { FakeTimers, settle } from '../helpers/fake-timers.js';
import { captureLog } from '../helpers/log-capture.js';

/** The shared fake socket, with the drift reports read off what went out. */
class FakeSocket extends FakeAgentSocket {
  reports(): DriftReport[] {
    return this.events('drift:findings').map((a) => a[0] as DriftReport);
  }
}

/**
 * A host value as a task declares it: `read` looks it up in the test's host, `apply` sets it
 * (waiting for the test's gate, so a check can be tried while it applies).
 */
function valueModule(host: Map<string, string>, reads: string[], gate: { wait?: Promise<void> }): AnyModule {
  return defineModule({
    name: 'value',
    summary: 'a value on the test host',
    schema: z.object({ key: z.string(), want: z.string() }),
    touches: [],
    async read(args) {
      reads.push(args.key);
      return host.get(args.key) ?? null;
    },
    plan: (args, seen) => ({ changes: seen === args.want ? [] : [args.want], before: `${args.key}=${seen}`, after: `${args.key}=${args.want}` }),
    describe: (args, seen) => [{ field: args.key, before: seen, after: args.want, text: `${args.key} is ${seen ?? 'unset'}, want ${args.want}` }],
    async apply(args) {
      await gate.wait;
      host.set(args.key, args.want);
    },
  });
}

const value = (key: string, want: string, module = 'value'): RenderedTask => ({ name: `${key} is ${want}`, module, role: 'demo', args: { key, want } });

function state(revision: number, tasks: RenderedTask[]): DesiredState {
  return { host: 'server3', revision, updatedAt: '2026-01-01T00:00:00.000Z', slots: [{ slot: 'demo', roles: ['demo'], policy: 'report', runId: 'r1', appliedAt: '2026-01-01T00:00:00.000Z', tasks }] };
}

function setup(t: import('ava').ExecutionContext, over: { stateDir?: string } = {}) {
  const stateDir = over.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'lvst-drift-agent-'));
  if (!over.stateDir) t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const host = new Map<string, string>();
  const reads: string[] = [];
  const gate: { wait?: Promise<void> } = {};
  const socket = new FakeSocket();
  const timers = new FakeTimers();
  const { log, lines } = captureLog();
  let kernelChange: (() => void) | undefined;
  const agent = new Agent({
    name: 'server3',
    root: '/',
    connect: () => socket,
    exec: async () => ({ code: 0, stdout: '', stderr: '', ms: 0 }),
    log,
    timers,
    gatherFacts: async (name) => facts({ hostname: name }),
    health: (busy) => ({ uptime: 1, load1: 0, memFree: 1, memTotal: 2, busy }),
    modules: new Map([
      ['value', valueModule(host, reads, gate)],
      ['pkg', { ...valueModule(host, reads, gate), name: 'pkg', slowCheck: true }],
    ]),
    heartbeatMs: 60_000,
    stateDir,
    driftIntervalMs: 5000,
    drift: {
      timers,
      resumeAfterMs: 120_000,
      slowIntervalMs: 60_000,
      kernelEvents: (onChange) => ({ start: () => void (kernelChange = () => onChange({ reason: 'kernel', lines: [] })), stop: async () => void (kernelChange = undefined) }),
    },
  });
  t.teardown(() => agent.stop());
  return { agent, socket, timers, host, reads, gate, lines, stateDir, kernel: () => kernelChange?.() };
}

const texts = (r: DriftReport | undefined) => r?.all.map((f) => f.text);

test('a pushed desired state is kept in the state folder, checked at once, and each change of its findings sent', async (t) => {
  const s = setup(t);
  s.host.set('mode', 'dr');
  s.agent.start();
  s.socket.up();
  await settle();
  t.deepEqual(s.socket.reports(), [], 'nothing held, nothing watched');

  s.socket.receive('desired:set', state(1, [value('mode', 'dr'), value('vip', 'on')]));

  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.deepEqual(JSON.parse(readFileSync(path.join(s.stateDir, DESIRED_STATE_FILE), 'utf8')).revision, 1);
  t.deepEqual(texts(s.socket.reports().at(-1)), ['vip is unset, want on']);
  t.is(s.socket.reports().at(-1)!.revision, 1);
  const sent = s.socket.reports().length;

  // Unchanged findings are not sent again on the interval.
  await s.timers.advance(5000);
  t.is(s.socket.reports().length, sent);
  // A change by hand is sent at the next check; one put back too.
  s.host.set('mode', 'nat');
  await s.timers.advance(5000);
  t.deepEqual(texts(s.socket.reports().at(-1)), ['mode is nat, want dr', 'vip is unset, want on']);
  s.host.set('mode', 'dr');
  s.host.set('vip', 'on');
  await s.timers.advance(5000);
  t.deepEqual(texts(s.socket.reports().at(-1)), []);
});

test('a kernel event makes a check at once, without waiting for the interval', async (t) => {
  const s = setup(t);
  s.agent.start();
  s.socket.up();
  s.socket.receive('desired:set', state(1, [value('vip', 'on')]));
  s.host.set('vip', 'on');
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  const checks = s.reads.length;
  s.host.set('vip', 'off');
  s.kernel();
  await s.timers.advance(300);
  t.is(s.reads.length, checks + 1);
  t.deepEqual(texts(s.socket.reports().at(-1)), ['vip is off, want on']);
});

test('an applying job pauses the watch until the controller pushes what to hold; without a push it resumes after a while', async (t) => {
  const s = setup(t);
  s.agent.start();
  s.socket.up();
  s.socket.receive('desired:set', state(1, [value('vip', 'on')]));
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.deepEqual(texts(s.socket.reports().at(-1)), ['vip is unset, want on']);

  let release!: () => void;
  s.gate.wait = new Promise<void>((r) => (release = r));
  const job: RunJob = { runId: 'r2.0', host: 'server3', tasks: [value('vip', 'on'), value('port', '80')], check: false, diff: false };
  s.socket.receive('run:start', job);
  await settle();
  const before = { reads: s.reads.length, reports: s.socket.reports().length };
  // Half applied: a check now would report `port` missing; none runs, on the interval or on a kernel event.
  await s.timers.advance(20_000);
  s.kernel();
  await s.timers.advance(1000);
  release();
  await s.agent.idle();
  await s.timers.advance(20_000);
  t.is(s.socket.reports().length, before.reports, 'no report while applying, nor after it until the push');
  t.is(s.reads.filter((k) => k === 'port').length, 1, 'only the job read port');

  // The run's end: the controller pushes the new state; checked at once, sent even though clean as before.
  s.socket.receive('desired:set', state(2, [value('vip', 'on'), value('port', '80')]));
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.deepEqual(s.socket.reports().at(-1), { all: [], first: false, revision: 2, at: s.timers.now() });

  // Another applying job and no push afterwards (the controller went away): the watch resumes on its own.
  s.gate.wait = undefined;
  s.socket.receive('run:start', { ...job, runId: 'r3.0', tasks: [value('vip', 'on')] });
  await s.agent.idle();
  s.host.set('port', '8080');
  await s.timers.advance(119_000);
  t.deepEqual(texts(s.socket.reports().at(-1)), []);
  await s.timers.advance(1000);
  t.deepEqual(texts(s.socket.reports().at(-1)), ['port is 8080, want 80']);
  t.true(s.lines.some((l) => l.msg === 'no desired state came after the run; watching the one held'));
});

test('after a restart the held state is watched again and its first check is sent even when clean; a bad file holds nothing', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-drift-agent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, DESIRED_STATE_FILE), JSON.stringify(state(7, [value('vip', 'on')])));
  const s = setup(t, { stateDir: dir });
  s.host.set('vip', 'on');
  s.agent.start();
  s.socket.up();
  await s.timers.advance(0);
  t.deepEqual(s.socket.reports(), [{ all: [], first: true, revision: 7, at: 0 }]);

  // Disconnected: findings wait; the reconnect sends the current ones.
  s.socket.connected = false;
  s.host.set('vip', 'off');
  await s.timers.advance(5000);
  t.is(s.socket.reports().length, 1);
  s.socket.up();
  await settle();
  t.deepEqual(texts(s.socket.reports().at(-1)), ['vip is off, want on']);

  writeFileSync(path.join(dir, DESIRED_STATE_FILE), '{"host": "server3", "revision": "x"');
  const bad = setup(t, { stateDir: dir });
  bad.agent.start();
  bad.socket.up();
  await bad.timers.advance(10_000);
  t.deepEqual(bad.socket.reports(), []);
  t.deepEqual(bad.reads, []);
  t.true(bad.lines.some((l) => l.level === 50 && l.msg === 'held desired state is not valid; waiting for the controller to push it again'));
});

test('a push of nothing stops the watch and resolves what was open; a push that is not a state is refused', async (t) => {
  const s = setup(t);
  s.agent.start();
  s.socket.up();
  s.socket.receive('desired:set', state(1, [value('vip', 'on')]));
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.is(s.socket.reports().at(-1)!.all.length, 1);
  s.socket.receive('desired:set', { host: 'server3', revision: 1, slots: 'all of them' });
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.true(s.lines.some((l) => l.msg === 'desired state from the controller refused' && l.field === 'updatedAt'));
  s.socket.receive('desired:set', { ...state(2, []), slots: [] });
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.deepEqual(s.socket.reports().at(-1), { all: [], first: true, revision: 2, at: s.timers.now() });
  const reads = s.reads.length;
  await s.timers.advance(30_000);
  t.is(s.reads.length, reads, 'nothing is checked any more');
});

test('tasks whose check starts a command of its own (packages, services) are checked on the slow interval; their findings stand between', async (t) => {
  const s = setup(t);
  s.agent.start();
  s.socket.up();
  s.socket.receive('desired:set', state(1, [value('vip', 'on'), value('httpd', 'installed', 'pkg')]));
  await s.agent.driftAgent!.pushed();
  await s.timers.advance(0);
  t.deepEqual(texts(s.socket.reports().at(-1)), ['vip is unset, want on', 'httpd is unset, want installed'], 'a new state: every task at once');
  const pkgReads = () => s.reads.filter((k) => k === 'httpd').length;
  t.is(pkgReads(), 1);
  s.host.set('httpd', 'installed');
  s.host.set('vip', 'on');
  await s.timers.advance(5000);
  t.is(pkgReads(), 1, 'not on the short interval');
  t.deepEqual(texts(s.socket.reports().at(-1)), ['httpd is unset, want installed'], 'its last finding stands');
  await s.timers.advance(55_000);
  t.is(pkgReads(), 2, 'on the slow one');
  t.deepEqual(texts(s.socket.reports().at(-1)), []);
});
