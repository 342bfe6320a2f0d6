import test from 'ava';
import { z } from 'zod';
import { runTasks } from '../../agent/runner.js';
import { defineModule, type AnyModule } from '../../agent/module.js';
import type { TaskResult } from '../../common/protocol.js';
import { ctxFor } from '../helpers/fake-ctx.js';

/** An in-memory module: a named cell whose value the task sets. */
function cellModule(cells: Map<string, string>, applied: string[]): AnyModule {
  return defineModule({
    name: 'cell',
    summary: 'test cell',
    schema: z.object({ key: z.string().regex(/^[a-z]+$/), value: z.string() }).strict(),
    async read(args) {
      if (args.key === 'boom') throw new Error('cannot read boom');
      return cells.get(args.key) ?? null;
    },
    plan(args, cur: string | null) {
      return { changes: cur === args.value ? [] : [args.value], before: `${cur}\n`, after: `${args.value}\n` };
    },
    async apply(args, changes: string[]) {
      applied.push(args.key);
      cells.set(args.key, changes[0]);
    },
    touches: [],
  });
}

function setup() {
  const cells = new Map<string, string>([['a', '1']]);
  const applied: string[] = [];
  const modules = new Map([['cell', cellModule(cells, applied)]]);
  return { cells, applied, modules, ctx: ctxFor('/nonexistent') };
}

test('applies only what differs and reports ok/changed with diffs', async (t) => {
  const { cells, applied, modules, ctx } = setup();
  const seen: TaskResult[] = [];
  const results = await runTasks(
    [
      { name: 'same', module: 'cell', args: { key: 'a', value: '1' } },
      { name: 'new', module: 'cell', args: { key: 'b', value: '2' } },
    ],
    modules,
    ctx,
    { check: false, diff: true },
    (r) => seen.push(r),
  );
  t.deepEqual(results.map((r) => r.status), ['ok', 'changed']);
  t.deepEqual(applied, ['b']);
  t.is(cells.get('b'), '2');
  t.deepEqual(results[1].diff, { before: 'null\n', after: '2\n' });
  t.is(results[0].diff, undefined);
  t.deepEqual(seen, results, 'each result is streamed as it finishes');
});

test('check mode reports the change and applies nothing', async (t) => {
  const { cells, applied, modules, ctx } = setup();
  const results = await runTasks([{ name: 'x', module: 'cell', args: { key: 'a', value: '9' } }], modules, ctx, { check: true, diff: false }, () => {});
  t.is(results[0].status, 'changed');
  t.deepEqual(applied, []);
  t.is(cells.get('a'), '1');
});

test('invalid arguments fail the list before anything runs, even in check mode', async (t) => {
  for (const check of [true, false]) {
    const { applied, modules, ctx } = setup();
    const results = await runTasks(
      [
        { name: 'first', module: 'cell', args: { key: 'c', value: '3' } },
        { name: 'bad', module: 'cell', args: { key: 'c; reboot', value: '3' } },
        { name: 'nomod', module: 'shell', args: {} },
      ],
      modules,
      ctx,
      { check, diff: false },
      () => {},
    );
    t.deepEqual(results.map((r) => r.status), ['skipped', 'failed', 'failed']);
    t.regex(results[1].msg!, /invalid arguments: key:/);
    t.regex(results[2].msg!, /unknown module 'shell'/);
    t.deepEqual(applied, []);
  }
});

test('a failed task stops the host: later tasks are skipped', async (t) => {
  const { applied, modules, ctx } = setup();
  const results = await runTasks(
    [
      { name: 'explodes', module: 'cell', args: { key: 'boom', value: '1' } },
      { name: 'after', module: 'cell', args: { key: 'd', value: '4' } },
    ],
    modules,
    ctx,
    { check: false, diff: false },
    () => {},
  );
  t.deepEqual(results.map((r) => r.status), ['failed', 'skipped']);
  t.is(results[0].msg, 'cannot read boom');
  t.deepEqual(applied, []);
});

test('a task the controller marked skip is reported skipped without validation', async (t) => {
  const { modules, ctx } = setup();
  const results = await runTasks([{ name: 'w', module: 'cell', args: {}, skip: 'condition is false: x' }], modules, ctx, { check: false, diff: false }, () => {});
  t.is(results[0].status, 'skipped');
  t.is(results[0].msg, 'condition is false: x');
});
