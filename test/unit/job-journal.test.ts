import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JOB_JOURNAL_FILE, JobJournal } from '../../agent/job-journal.js';
import type { RenderedTask, TaskResult } from '../../common/protocol.js';
import { captureLog } from '../helpers/log-capture.js';

/** The agent's job journal: what a restarted agent and a restarted controller read back. */

function stateDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tasks = (n: number): RenderedTask[] => Array.from({ length: n }, (_, i) => ({ name: `t${i}`, module: 'file', args: {} }));
const result = (index: number, status: TaskResult['status'] = 'changed'): TaskResult => ({ index, name: `t${index}`, module: 'file', status, ms: 1 });

test('what is recorded is read back by the next agent; jobs that did not end are recorded as such', async (t) => {
  const dir = stateDir(t);
  const { log } = captureLog();
  const a = new JobJournal({ stateDir: dir, log, now: () => new Date('2024-05-01T10:00:00Z') });
  a.add({ runId: 'r1.0', run: 'r1', tasks: tasks(2) });
  a.update('r1.0', { state: 'running' });
  a.addResult('r1.0', result(0));
  a.addResult('r1.0', result(1, 'ok'));
  a.update('r1.0', { state: 'ended', ms: 12 });
  a.add({ runId: 'r1.2', run: 'r1', tasks: tasks(3) });
  a.update('r1.2', { state: 'running' });
  a.addResult('r1.2', result(0));
  a.add({ runId: 'r2.0', run: 'r2', tasks: tasks(1) });
  await a.flush();
  t.is(statSync(path.join(dir, JOB_JOURNAL_FILE)).mode & 0o777, 0o600);

  // The agent stopped here: r1.2 was running, r2.0 queued.
  const b = new JobJournal({ stateDir: dir, log });
  t.deepEqual(b.forRun('r1'), [
    { job: 'r1.0', run: 'r1', receivedAt: '2024-05-01T10:00:00.000Z', state: 'ended', tasks: 2, results: [result(0), result(1, 'ok')], ms: 12 },
    { job: 'r1.2', run: 'r1', receivedAt: '2024-05-01T10:00:00.000Z', state: 'ended', tasks: 3, results: [result(0)], error: 'the agent stopped during this job' },
  ]);
  t.like(b.get('r2.0'), { state: 'not-started', error: 'the agent stopped before this job started' });
  t.deepEqual(b.forRun('r3'), []);
});

test('only the newest jobs are kept', async (t) => {
  const dir = stateDir(t);
  const { log } = captureLog();
  const j = new JobJournal({ stateDir: dir, log, keep: 3 });
  for (let i = 0; i < 5; i++) j.add({ runId: `r${i}.0`, run: `r${i}`, tasks: tasks(1) });
  await j.flush();
  const again = new JobJournal({ stateDir: dir, log, keep: 3 });
  t.deepEqual(['r0.0', 'r1.0', 'r2.0', 'r3.0', 'r4.0'].map((id) => again.get(id) !== undefined), [false, false, true, true, true]);
});

test('a journal that does not parse is kept aside, not trusted, and a new one started', async (t) => {
  const dir = stateDir(t);
  const { log, lines } = captureLog();
  writeFileSync(path.join(dir, JOB_JOURNAL_FILE), '{"version":1,"jobs":[{"job":');
  const j = new JobJournal({ stateDir: dir, log });
  t.deepEqual(j.forRun('r1'), []);
  const aside = readdirSync(dir).find((f) => f.startsWith(`${JOB_JOURNAL_FILE}.bad-`));
  t.truthy(aside, 'the bad file is kept for a person to look at');
  t.is(readFileSync(path.join(dir, aside!), 'utf8'), '{"version":1,"jobs":[{"job":');
  t.like(lines.find((l) => l.msg.startsWith('job journal does not parse')), { level: 50 });
  j.add({ runId: 'r1.0', run: 'r1', tasks: tasks(1) });
  await j.flush();
  t.true(existsSync(path.join(dir, JOB_JOURNAL_FILE)));
  t.is(new JobJournal({ stateDir: dir, log }).get('r1.0')?.run, 'r1');
});

test('a failed write is logged once, the journal goes on in memory and is written with the next change', async (t) => {
  const dir = stateDir(t);
  const { log, lines } = captureLog();
  let failing = true;
  const written: string[] = [];
  const j = new JobJournal({
    stateDir: dir,
    log,
    write: async (_file, text) => {
      if (failing) throw new Error('ENOSPC: no space left on device');
      written.push(text);
    },
  });
  j.add({ runId: 'r1.0', run: 'r1', tasks: tasks(2) });
  await j.flush();
  j.addResult('r1.0', result(0));
  await j.flush();
  t.is(lines.filter((l) => l.msg.startsWith('cannot write the job journal')).length, 1, 'logged once, not per change');
  t.is(j.forRun('r1')[0]?.results.length, 1, 'kept in memory');
  failing = false;
  j.addResult('r1.0', result(1));
  await j.flush();
  t.is(written.length, 1);
  const saved = JSON.parse(written[0]!) as { jobs: { results: unknown[] }[] };
  t.is(saved.jobs[0]?.results.length, 2, 'what could not be written before is in the next write');
  t.truthy(lines.find((l) => l.msg === 'job journal written again'));
});

test('without a state folder the journal lives in memory only', async (t) => {
  const { log } = captureLog();
  const j = new JobJournal({ log });
  j.add({ runId: 'r1.0', tasks: tasks(1) });
  await j.flush();
  t.is(j.get('r1.0')?.run, 'r1.0', 'a job without a run id is its own run');
});
