import test from 'ava';
import { z } from 'zod';
import { defineModule, type AnyModule } from '../../agent/module.js';
import { MODULES } from '../../agent/modules/index.js';
import { runTasks, type JobStops } from '../../agent/runner.js';
import { DEFAULT_TASK_TIMEOUT_MS, moduleTimeoutMs, TaskExec, taskTimeoutMs } from '../../agent/task-limits.js';
import type { ExecOptions } from '../../common/exec.js';
import type { RenderedTask, TaskResult } from '../../common/protocol.js';
import { ctxFor } from '../helpers/fake-ctx.js';
import { FakeTimers, settle } from '../helpers/fake-timers.js';

/** Task time limits and job stops, through the runner, on a clock the test moves. */

test('a task\'s limit: its own timeout, else the run\'s --task-timeout, else its module\'s, else 300 s', (t) => {
  t.is(taskTimeoutMs({ timeoutMs: 1000 }, { timeoutMs: 5000 }, 3000), 1000);
  t.is(taskTimeoutMs({}, { timeoutMs: 5000 }, 3000), 3000);
  t.is(taskTimeoutMs({}, { timeoutMs: 5000 }), 5000);
  t.is(taskTimeoutMs({}, {}), DEFAULT_TASK_TIMEOUT_MS);
  t.is(DEFAULT_TASK_TIMEOUT_MS, 300_000);
  // What the modules declare: quick local ones are short, installs long, the rest the default.
  t.is(moduleTimeoutMs(MODULES.get('file')!), 60_000);
  t.is(moduleTimeoutMs(MODULES.get('package')!), 900_000);
  t.is(moduleTimeoutMs(MODULES.get('service')!), DEFAULT_TASK_TIMEOUT_MS);
});

interface Probe {
  reads: string[];
  applied: string[];
  release: Map<string, () => void>;
  execs: { file: string; opts?: ExecOptions }[];
}

/** `hang` reads until the test releases it; every task runs one command first and applies a change. */
function hangModule(p: Probe): AnyModule {
  return defineModule({
    name: 'hang',
    summary: 'waits for the test',
    schema: z.object({ id: z.string(), wait: z.boolean().default(false) }),
    touches: [],
    async read(args, ctx) {
      p.reads.push(args.id);
      await ctx.exec('probe', [args.id]);
      if (args.wait) await new Promise<void>((r) => p.release.set(args.id, r));
      return null;
    },
    plan: () => ({ changes: ['x'], before: '', after: 'x' }),
    async apply(args) {
      p.applied.push(args.id);
    },
  });
}

function setup(stops: Partial<JobStops> = {}) {
  const p: Probe = { reads: [], applied: [], release: new Map(), execs: [] };
  const timers = new FakeTimers();
  const exec = async (file: string, _args: readonly string[], opts?: ExecOptions) => {
    p.execs.push({ file, opts });
    return { code: 0, stdout: '', stderr: '', ms: 0 };
  };
  const ctx = ctxFor('/nonexistent', { exec });
  const seen: TaskResult[] = [];
  const run = (tasks: RenderedTask[]) => runTasks(tasks, new Map([['hang', hangModule(p)]]), ctx, { check: false, diff: false, job: { timers, ...stops } }, (r) => seen.push(r));
  return { p, timers, run, seen };
}

const task = (id: string, wait = false, timeoutMs?: number): RenderedTask => ({ name: id, module: 'hang', args: { id, wait }, ...(timeoutMs ? { timeoutMs } : {}) });

test('a hung task fails at its limit, the host stops there, and the late read applies nothing', async (t) => {
  const { p, timers, run, seen } = setup({ taskTimeoutMs: 10_000 });
  const done = run([task('a'), task('b', true, 2000), task('c')]);
  await settle();
  t.deepEqual(p.reads, ['a', 'b']);
  await timers.advance(1999);
  t.is(seen.length, 1, 'still within the limit');
  await timers.advance(1);
  const results = await done;
  t.deepEqual(
    results.map((r) => [r.name, r.status, r.msg]),
    [
      ['a', 'changed', undefined],
      ['b', 'failed', 'timed out after 2 s'],
      ['c', 'skipped', 'not run: task 2 failed'],
    ],
  );
  t.true(p.execs.every((e) => e.opts?.killGroup === true && e.opts.signal instanceof AbortSignal), 'every command of a task is bound to its signal, in a group of its own');
  t.true(p.execs[1]!.opts!.signal!.aborted, 'the hung task\'s signal aborted: its commands are killed');
  // The hang clears after the task was given up: nothing is applied.
  p.release.get('b')!();
  await settle();
  t.deepEqual(p.applied, ['a']);
});

test('the run\'s --task-timeout applies to tasks without a limit of their own', async (t) => {
  const { timers, run } = setup({ taskTimeoutMs: 3000 });
  const done = run([task('a', true)]);
  await timers.advance(3000);
  t.is((await done)[0]!.msg, 'timed out after 3 s');
});

test('cancelled at a task boundary: the running task ends, the rest are skipped', async (t) => {
  let halted: string | undefined;
  const { p, run } = setup({ halted: () => halted });
  const done = run([task('a', true), task('b'), task('c')]);
  await settle();
  halted = 'cancelled: run cancelled';
  p.release.get('a')!();
  const results = await done;
  t.deepEqual(results.map((r) => [r.status, r.msg]), [
    ['changed', undefined],
    ['skipped', 'not run: cancelled: run cancelled'],
    ['skipped', 'not run: cancelled: run cancelled'],
  ]);
  t.deepEqual(p.applied, ['a']);
});

test('cancelled now (or the job\'s deadline): the running task is killed and fails with the reason', async (t) => {
  const ac = new AbortController();
  const jobExec = new TaskExec(async (file, _args, opts) => {
    kernelReads.push(opts?.signal);
    return { code: 0, stdout: '', stderr: '', ms: 0 };
  });
  const kernelReads: (AbortSignal | undefined)[] = [];
  const { p, run } = setup({ signal: ac.signal, exec: jobExec });
  const done = run([task('a', true), task('b')]);
  await settle();
  // A kernel table read on behalf of the running task goes through the job's exec: bound too.
  await jobExec.exec('ip', ['-j', 'addr']);
  ac.abort(new Error('cancelled: killed by an operator'));
  const results = await done;
  t.deepEqual(results.map((r) => [r.status, r.msg]), [
    ['failed', 'cancelled: killed by an operator'],
    ['skipped', 'not run: task 1 failed'],
  ]);
  t.true(kernelReads[0]?.aborted, 'the kernel read was bound to the task\'s signal');
  t.is(jobExec.signal, undefined, 'no task runs now');
  p.release.get('a')!();
  await settle();
  t.deepEqual(p.applied, []);
});
