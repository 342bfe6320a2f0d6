import test from 'ava';
import { z } from 'zod';
import { Agent, type AgentOptions } from '../../agent/agent.js';
import { Backoff, REFUSED_BACKOFF } from '../../agent/connection.js';
import { defineModule, type AnyModule } from '../../agent/module.js';
import type { HostFacts, RenderedTask, RunJob, TaskResult } from '../../common/protocol.js';
import { FakeAgentSocket } from '../helpers/fake-agent-socket.js';
import { facts } from '../helpers/fake-ctx.js';
import { FakeTimers, settle } from '../helpers/fake-timers.js';
import { captureLog } from '../helpers/log-capture.js';

/** The shared fake socket, plus a trace of results and ends, a connect count and a refusal. */
class FakeSocket extends FakeAgentSocket {
  connects = 0;

  constructor(private readonly trace: string[] = []) {
    super();
  }

  override emit(event: string, ...args: unknown[]): boolean {
    if (event === 'task:result' || event === 'run:end') this.trace.push(`${event} ${event === 'run:end' ? (args[0] as { runId: string }).runId : String(args[0])}`);
    return super.emit(event, ...args);
  }

  override connect(): this {
    this.connects++;
    return this;
  }

  override up(): void {
    this.active = true;
    super.up();
  }

  /** The hub's middleware said no: socket.io gives up on its own (`active` false). */
  refuse(reason = 'unauthorized: bad token'): void {
    this.connected = false;
    this.active = false;
    this.receive('connect_error', new Error(reason));
  }
}

/** A module whose read waits until the test opens its gate, and reports the package manager it saw. */
function gateModule(trace: string[], gates: Map<string, () => void>): AnyModule {
  return defineModule({
    name: 'gate',
    summary: 'waits for the test',
    schema: z.object({ id: z.string() }),
    touches: [],
    async read(args, ctx) {
      trace.push(`read ${args.id}`);
      await new Promise<void>((r) => gates.set(args.id, r));
      return ctx.facts.pkgManager;
    },
    plan: (_args, seen) => ({ changes: [], before: '', after: '', msg: `pkg ${seen}` }),
    async apply() {},
  });
}

const gateTask = (id: string): RenderedTask => ({ name: `gate ${id}`, module: 'gate', args: { id } });
const job = (runId: string, tasks: RenderedTask[], over: Partial<RunJob> = {}): RunJob => ({ runId, host: 'server3', tasks, check: false, diff: false, ...over });

function setup(over: Partial<AgentOptions> = {}) {
  const trace: string[] = [];
  const gates = new Map<string, () => void>();
  const socket = new FakeSocket(trace);
  const timers = new FakeTimers();
  const { log, lines } = captureLog();
  const agent = new Agent({
    name: 'server3',
    root: '/',
    connect: () => socket,
    exec: async () => ({ code: 0, stdout: '', stderr: '', ms: 0 }),
    log,
    timers,
    random: () => 0.5,
    gatherFacts: async (name) => facts({ hostname: name, pkgManager: 'apt' }),
    health: (busy) => ({ uptime: 1, load1: 0, memFree: 1, memTotal: 2, busy }),
    modules: new Map([['gate', gateModule(trace, gates)]]),
    heartbeatMs: 1000,
    ...over,
  });
  const open = async (id: string) => {
    for (let i = 0; i < 20 && !gates.has(id); i++) await settle();
    if (!gates.has(id)) throw new Error(`task ${id} never started`);
    gates.get(id)!();
    await settle();
  };
  return { agent, socket, timers, lines, trace, gates, open };
}

test('jobs run one at a time: a second run:start waits for the first to end; results and run:end in order', async (t) => {
  const { agent, socket, timers, lines, trace, gates, open } = setup();
  agent.start();
  t.is(socket.connects, 1);
  socket.up();
  await settle();

  socket.receive('run:start', job('r1.0', [gateTask('a1'), gateTask('a2')]));
  socket.receive('run:start', job('r2.0', [gateTask('b1')]));
  await settle();
  t.deepEqual(trace, ['read a1'], 'the second job has not started');

  // A heartbeat while the first job runs says the agent is busy.
  await timers.advance(1000);
  t.is((socket.events('heartbeat').at(-1)![0] as { busy: number }).busy, 1);

  await open('a1');
  t.false(gates.has('b1'), 'still not started: the first job has a task left');
  await open('a2');
  await open('b1');
  await agent.idle();
  t.deepEqual(trace, ['read a1', 'task:result r1.0', 'read a2', 'task:result r1.0', 'run:end r1.0', 'read b1', 'task:result r2.0', 'run:end r2.0']);
  t.deepEqual(socket.events('task:result').map(([id, r]) => `${id as string}:${(r as TaskResult).index}:${(r as TaskResult).status}`), ['r1.0:0:ok', 'r1.0:1:ok', 'r2.0:0:ok']);

  await timers.advance(1000);
  t.is((socket.events('heartbeat').at(-1)![0] as { busy: number }).busy, 0, 'idle again');

  const ends = lines.filter((l) => l.msg === 'run ended');
  t.deepEqual(ends.map((l) => [l.job, l.tasks, l.ok]), [['r1.0', 2, 2], ['r2.0', 1, 1]]);
  t.true(ends.every((l) => typeof l.ms === 'number'));
  t.deepEqual(lines.filter((l) => l.msg === 'run started').map((l) => l.job), ['r1.0', 'r2.0']);
  agent.stop();
});

test('a job that cannot run ends with its error and the next job still runs', async (t) => {
  let calls = 0;
  const { agent, socket, lines, trace, open } = setup({
    gatherFacts: async (name) => {
      if (++calls === 1) throw new Error('systeminformation: timeout');
      return facts({ hostname: name, pkgManager: 'apt' });
    },
  });
  agent.start();
  // Not connected yet: no facts were gathered, so the job gathers them itself (and fails).
  socket.receive('run:start', job('r1.0', [gateTask('a')]));
  socket.receive('run:start', job('r2.0', [gateTask('b')]));
  await open('b');
  await agent.idle();
  t.deepEqual(trace, ['run:end r1.0', 'read b', 'task:result r2.0', 'run:end r2.0']);
  t.is((socket.events('run:end')[0][0] as { error?: string }).error, 'systeminformation: timeout');
  t.true(lines.some((l) => l.level === 50 && l.msg === 'run failed' && l.job === 'r1.0'));
});

test('facts the inventory decides (factsOverride) win for their job only', async (t) => {
  const { agent, socket, open } = setup();
  agent.start();
  socket.up();
  socket.receive('run:start', job('r1.0', [gateTask('a')], { factsOverride: { pkgManager: 'yum' } }));
  socket.receive('run:start', job('r2.0', [gateTask('b')]));
  await open('a');
  await open('b');
  await agent.idle();
  t.deepEqual(socket.events('task:result').map(([, r]) => (r as TaskResult).msg), ['pkg yum', 'pkg apt']);
});

for (const how of ['rejects', 'throws at once'] as const) {
  test(`a facts failure (gatherFacts ${how}) is logged and retried, never thrown`, async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    t.teardown(() => void process.off('unhandledRejection', onUnhandled));

    let calls = 0;
    const gatherFacts = (name: string): Promise<HostFacts> => {
      calls++;
      if (calls <= 2) {
        if (how === 'throws at once') throw new Error(`cannot read /proc (${calls})`);
        return Promise.reject(new Error(`cannot read /proc (${calls})`));
      }
      return Promise.resolve(facts({ hostname: name }));
    };
    const { agent, socket, timers, lines } = setup({ gatherFacts });
    agent.start();
    socket.up();
    await settle();
    t.is(calls, 1);
    t.deepEqual(socket.events('facts'), []);
    const failed = lines.filter((l) => l.level === 50 && l.msg === 'gathering facts failed');
    t.is(failed.length, 1);
    t.is((failed[0].err as { message: string }).message, 'cannot read /proc (1)');

    // Retried on its own backoff, growing, until it works; then facts and a heartbeat go out.
    const [first] = timers.pendingTimeouts();
    t.true(first > 0);
    await timers.advance(first);
    t.is(calls, 2);
    const [second] = timers.pendingTimeouts();
    t.true(second > first, `${second} > ${first}`);
    await timers.advance(second);
    t.is(calls, 3);
    t.is(socket.events('facts').length, 1);
    t.is((socket.events('facts')[0][0] as HostFacts).hostname, 'server3');
    t.true(socket.events('heartbeat').length >= 1);
    t.deepEqual(timers.pendingTimeouts(), [], 'no retry left once it worked');

    // A reconnect gathers afresh.
    socket.receive('disconnect', 'transport close');
    socket.up();
    await settle();
    t.is(calls, 4);
    t.is(socket.events('facts').length, 2);
    t.deepEqual(unhandled, []);
    agent.stop();
  });
}

test('backoff: each delay stays within its bounds, with jitter, and grows until the cap', (t) => {
  const o = REFUSED_BACKOFF;
  // Extremes and middles of the random source, in a mixed order.
  const rs = [0, 0.999999, 0.5, 0.999999, 0, 0.25, 0.75, 0.999999, 0, 0.5, 0.1, 0.9];
  let i = 0;
  const b = new Backoff(o, () => rs[i++ % rs.length]);
  const delays = rs.map(() => b.next());
  delays.forEach((d, n) => {
    const full = Math.min(o.maxMs, o.baseMs * o.factor ** n);
    t.true(d > full * (1 - o.jitter) && d <= full, `attempt ${n}: ${d} in (${full * (1 - o.jitter)}, ${full}]`);
    t.true(d <= o.maxMs);
  });
  for (let n = 1; n < delays.length && o.baseMs * o.factor ** n <= o.maxMs; n++) t.true(delays[n] > delays[n - 1], `attempt ${n} waits longer than ${n - 1}`);
  t.not(new Set(delays.slice(-4)).size, 1, 'capped delays still differ: jitter');

  const half = new Backoff(o, () => 0.5);
  t.deepEqual([1, 2, 3, 4, 5, 6].map(() => half.next()), [3000, 6000, 12_000, 24_000, 45_000, 45_000]);
  half.reset();
  t.is(half.next(), 3000, 'reset starts over');
});

test('a refused connection is retried with growing jittered delays; a connection resets them', async (t) => {
  const randoms = [0.9, 0.1, 0.6, 0.3, 0.8];
  let i = 0;
  const { agent, socket, timers, lines } = setup({ random: () => randoms[i++ % randoms.length] });
  agent.start();
  const delays: number[] = [];
  for (let n = 0; n < 4; n++) {
    socket.refuse();
    const pending = timers.pendingTimeouts();
    t.is(pending.length, 1, 'one retry scheduled, not one per failure');
    delays.push(pending[0]);
    const connects = socket.connects;
    await timers.advance(pending[0] - 1);
    t.is(socket.connects, connects, 'not before its time');
    await timers.advance(1);
    t.is(socket.connects, connects + 1);
  }
  delays.forEach((d, n) => {
    const full = REFUSED_BACKOFF.baseMs * 2 ** n;
    t.true(d > full / 2 && d <= full, `retry ${n}: ${d}`);
  });
  t.deepEqual([...delays].sort((a, b) => a - b), delays, 'each wait is longer');
  const refused = lines.filter((l) => l.msg === 'connection refused');
  t.is(refused.length, 4);
  t.is(refused[0].reason, 'unauthorized: bad token');

  socket.up();
  socket.refuse();
  t.true(timers.pendingTimeouts()[0] <= REFUSED_BACKOFF.baseMs, 'back to the first delay after a connection');

  // Lost connections are socket.io's own to retry (`active` stays true): nothing scheduled here.
  await timers.advance(60_000);
  socket.active = true;
  socket.receive('connect_error', new Error('xhr poll error'));
  t.deepEqual(timers.pendingTimeouts(), []);
  agent.stop();
});

test('a job id that comes again is not run again: its results and end are answered from the journal', async (t) => {
  const { agent, socket, trace, open } = setup();
  agent.start();
  socket.up();
  socket.receive('run:start', job('r1.0', [gateTask('a')]));
  await open('a');
  await agent.idle();
  // The same job again (a controller that sent it twice across a reconnect).
  socket.receive('run:start', job('r1.0', [gateTask('a')]));
  await agent.idle();
  await settle();
  t.deepEqual(trace, ['read a', 'task:result r1.0', 'run:end r1.0', 'task:result r1.0', 'run:end r1.0'], 'read once');
  const ends = socket.events('run:end').map(([e]) => e as { error?: string });
  t.is(ends[0]!.error, undefined);
  t.is(ends[1]!.error, 'job r1.0 came again and was not run again');
  agent.stop();
});

test('job:journal answers what the agent did for a run; run:cancel keeps a queued job from starting', async (t) => {
  const { agent, socket, open } = setup();
  agent.start();
  socket.up();
  socket.receive('run:start', job('r1.0', [gateTask('a'), gateTask('b')], { run: 'r1' }));
  socket.receive('run:start', job('r2.0', [gateTask('c')], { run: 'r2' }));
  await open('a');
  let answer: unknown;
  socket.receive('job:journal', { run: 'r1' }, (jobs: unknown) => (answer = jobs));
  t.like(answer, [{ job: 'r1.0', run: 'r1', state: 'running', tasks: 2, results: [{ index: 0, status: 'ok' }] }]);
  socket.receive('run:cancel', { runId: 'r2.0', reason: 'cancelled by an operator', now: false });
  await open('b');
  await agent.idle();
  socket.receive('job:journal', { run: 'r1' }, (jobs: unknown) => (answer = jobs));
  t.like(answer, [{ state: 'ended', results: [{ index: 0 }, { index: 1 }] }]);
  const r2 = socket.events('run:end').map(([e]) => e as { runId: string; error?: string }).find((e) => e.runId === 'r2.0');
  t.is(r2?.error, 'not started: cancelled (cancelled by an operator)');
  t.deepEqual(socket.events('task:result').map(([id]) => id), ['r1.0', 'r1.0'], 'nothing of r2.0 ran');
  agent.stop();
});

test('a job that waited past its deadline behind a hung one never starts', async (t) => {
  const { agent, socket, timers, trace, open } = setup();
  agent.start();
  socket.up();
  socket.receive('run:start', job('r1.0', [gateTask('a')], { ttlMs: 60_000 }));
  socket.receive('run:start', job('r2.0', [gateTask('b')], { ttlMs: 5_000 }));
  await settle();
  await timers.advance(10_000);
  await open('a');
  await agent.idle();
  t.deepEqual(trace, ['read a', 'task:result r1.0', 'run:end r1.0', 'run:end r2.0']);
  t.regex((socket.events('run:end')[1]![0] as { error: string }).error, /^not started: its deadline passed while it waited \(10 s/);
  agent.stop();
});
