import type { RenderedTask, TaskResult } from '../common/protocol.js';
import { describeIssues } from './validate.js';
import { touchedBy, type AnyModule, type ModuleContext } from './module.js';
import { signalled, taskTimeoutMs, withinLimit, type TaskExec } from './task-limits.js';
import type { Timers } from './timers.js';

export interface RunOptions {
  check: boolean;
  diff: boolean;
  /** How the job may be stopped, and its tasks' limits (the agent's; tests run without). */
  job?: JobStops;
}

/** The stops of one job (agent/job-control.ts makes them). */
export interface JobStops {
  /** Aborted by a cancel with `now` or the job's deadline: the running task is killed, the rest skipped. */
  signal?: AbortSignal;
  /** Set once the job was cancelled at a task boundary: tasks not begun are skipped with this. */
  halted?(): string | undefined;
  /** The run's `--task-timeout`, for tasks without a limit of their own. */
  taskTimeoutMs?: number;
  /** The job's exec, told which task runs now (the kernel state reads through it). */
  exec?: TaskExec;
  timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
}

interface Prepared {
  task: RenderedTask;
  module?: AnyModule;
  args?: unknown;
  error?: string;
}

/** Validates every task before any runs: a bad argument fails the list even in check mode. */
export function prepare(tasks: RenderedTask[], modules: ReadonlyMap<string, AnyModule>): Prepared[] {
  return tasks.map((task) => {
    if (task.skip) return { task };
    const module = modules.get(task.module);
    if (!module) return { task, error: `unknown module '${task.module}'` };
    const parsed = module.schema.safeParse(task.args);
    if (!parsed.success) return { task, module, error: `invalid arguments: ${describeIssues(parsed.error)}` };
    return { task, module, args: parsed.data };
  });
}

/**
 * Runs one task: read, plan, and apply unless in check mode or nothing differs. After an apply,
 * failed or not, the tables it touches are dropped, so that later tasks plan against the host.
 */
export async function runOne(module: AnyModule, args: unknown, ctx: ModuleContext, opts: RunOptions) {
  const observed = await module.read(args, ctx);
  // A task stopped while it read (its limit, a cancel) must not go on to apply when the read
  // comes back late: the job was given up meanwhile.
  ctx.signal?.throwIfAborted();
  const plan = module.plan(args, observed, ctx);
  const changed = plan.changes.length > 0;
  if (changed && !opts.check) {
    try {
      await module.apply(args, plan.changes, ctx);
    } finally {
      ctx.kernel.invalidate(touchedBy(module, args));
    }
  }
  if (changed && opts.check && module.creates) ctx.kernel.promise(module.creates(args));
  return { changed, plan, observed };
}

/** runOne within the task's limit and the job's stops, every exec of the task bound to them. */
function runLimited(p: Prepared, ctx: ModuleContext, opts: RunOptions) {
  const job = opts.job;
  const ms = taskTimeoutMs(p.task, p.module!, job?.taskTimeoutMs);
  return withinLimit(
    ms,
    job?.signal,
    (signal) => {
      if (job?.exec) job.exec.signal = signal;
      return runOne(p.module!, p.args, { ...ctx, signal, exec: signalled(ctx.exec, signal) }, opts);
    },
    job?.timers,
  ).finally(() => {
    if (job?.exec) job.exec.signal = undefined;
  });
}

/**
 * Runs a task list one task at a time and reports each result as it finishes. After a failure
 * (a task past its limit too) the remaining tasks are skipped, as Ansible stops a host on its
 * first failed task; after a cancel, those not begun.
 */
export async function runTasks(
  tasks: RenderedTask[],
  modules: ReadonlyMap<string, AnyModule>,
  ctx: ModuleContext,
  opts: RunOptions,
  onResult: (r: TaskResult) => void,
  clock: () => number = () => performance.now(),
): Promise<TaskResult[]> {
  const prepared = prepare(tasks, modules);
  const invalid = prepared.findIndex((p) => p.error);
  const results: TaskResult[] = [];
  let stop: string | undefined = invalid >= 0 ? `not run: task ${invalid + 1} has invalid arguments` : undefined;

  for (const [index, p] of prepared.entries()) {
    const base = { index, name: p.task.name, module: p.task.module, ...(p.task.role ? { role: p.task.role } : {}) };
    const started = clock();
    let result: TaskResult;
    if (p.error) {
      result = { ...base, status: 'failed', msg: p.error, ms: 0 };
    } else if (stop) {
      result = { ...base, status: 'skipped', msg: stop, ms: 0 };
    } else if (p.task.skip) {
      result = { ...base, status: 'skipped', msg: p.task.skip, ms: 0 };
    } else if ((stop = halted(opts.job))) {
      result = { ...base, status: 'skipped', msg: stop, ms: 0 };
    } else {
      try {
        const task = { name: p.task.name, ...(p.task.role ? { role: p.task.role } : {}) };
        const { changed, plan } = await runLimited(p, { ...ctx, task }, opts);
        result = {
          ...base,
          status: changed ? 'changed' : 'ok',
          ...(plan.msg ? { msg: plan.msg } : {}),
          ...(opts.diff && (changed || plan.msg) ? { diff: { before: plan.before, after: plan.after } } : {}),
          ms: clock() - started,
        };
      } catch (e) {
        result = { ...base, status: 'failed', msg: (e as Error).message, ms: clock() - started };
        stop = `not run: task ${index + 1} failed`;
      }
    }
    results.push(result);
    onResult(result);
  }
  return results;
}

function halted(job: JobStops | undefined): string | undefined {
  const why = job?.halted?.() ?? (job?.signal?.aborted ? (job.signal.reason as Error).message : undefined);
  return why === undefined ? undefined : `not run: ${why}`;
}
