import test from 'ava';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { buildController, type Controller } from '../../controller/app.js';
import { PROTOCOL_VERSION, type JobCancel, type JobRecord, type RunJob, type TaskResult } from '../../common/protocol.js';
import { REPO, waitFor } from '../helpers/procs.js';

/**
 * Run control against a real controller on loopback, with hand-driven agent connections (real
 * sockets): waiting and --no-wait, --wait-timeout, cancel, a given-up job cancelled on the
 * agent, and an interrupted run completed from an agent's journal.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'lvst-runctl-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const auth = { authorization: 'Bearer tok' };

interface FakeAgent {
  s: Socket;
  jobs: RunJob[];
  cancels: JobCancel[];
}

async function controller(t: import('ava').ExecutionContext, dataDir: string, jobTimeoutMs?: number) {
  const ctl = await buildController({ dataDir, token: 'tok', projectDir: REPO, log: { error: () => undefined }, ...(jobTimeoutMs ? { jobTimeoutMs } : {}) });
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(ctl.app.server.address() as { port: number }).port}`;
  const sockets: Socket[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    for (const s of sockets) s.close();
    return (closing ??= ctl.close());
  };
  t.teardown(close);
  const agent = async (name: string, journal?: (run: string) => JobRecord[]): Promise<FakeAgent> => {
    const s: Socket = io(url, { auth: { token: 'tok', name, protocol: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false });
    sockets.push(s);
    const a: FakeAgent = { s, jobs: [], cancels: [] };
    s.on('run:start', (job: RunJob) => a.jobs.push(job));
    s.on('run:cancel', (c: JobCancel) => a.cancels.push(c));
    s.on('job:journal', (q: { run: string }, ack: (jobs: JobRecord[]) => void) => ack(journal?.(q.run) ?? []));
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    s.emit('facts', { hostname: name, os: { family: 'redhat', major: 9 }, interfaces: [] } as never);
    await waitFor('facts stored', async () => (ctl.store.agent(name)?.facts ? true : undefined), 5000, 20);
    return a;
  };
  const start = (extra: Record<string, unknown> = {}) =>
    ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role: 'lvs-realserver-dr', hosts: 'server3', inventory: 'inventory/dr.yml', ...extra } });
  return { ctl, agent, start, close };
}

const results = (job: RunJob, status: TaskResult['status'] = 'changed'): TaskResult[] => job.tasks.map((task, index) => ({ index, name: task.name, module: task.module, status, ms: 1 }));

/** A controller on `dataDir` with a run going on server3 whose first result it has recorded. */
async function runWithOneResult(t: import('ava').ExecutionContext, dataDir: string) {
  const first = await controller(t, dataDir);
  const a = await first.agent('server3');
  const run = (await first.start()).json() as { id: string };
  await waitFor('job sent', async () => (a.jobs.length ? true : undefined), 5000, 20);
  const job = a.jobs[0]!;
  const all = results(job);
  a.s.emit('task:result', job.runId, all[0]);
  await waitFor('first result recorded', async () => ((await first.ctl.store.run(run.id))?.hosts.server3?.results.length ? true : undefined), 5000, 20);
  return { first, a, run, job, all };
}
const ended = (ctl: Controller, id: string) => waitFor(`run ${id} ended`, async () => ((await ctl.store.run(id))?.finishedAt ? ctl.store.run(id) : undefined), 10_000, 20);

/** The run's event stream as the route sends it, read until `until` says so; the connection is then dropped. */
function events(ctl: Controller, id: string, until: (lines: { type: string }[]) => boolean): Promise<{ type: string; [k: string]: unknown }[]> {
  const { port } = ctl.app.server.address() as { port: number };
  return new Promise((resolve, reject) => {
    let text = '';
    const lines = () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const req = http.get(`http://127.0.0.1:${port}/api/runs/${id}/events`, { headers: auth }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (until(lines())) {
          req.destroy();
          resolve(lines());
        }
      });
      res.on('end', () => resolve(lines()));
    });
    req.on('error', reject);
  });
}

test('a run that finds its host busy says for which run it waits; --no-wait is refused at once; --wait-timeout gives up', async (t) => {
  const { ctl, agent, start } = await controller(t, path.join(root, 'wait'));
  const a = await agent('server3');
  const first = (await start()).json() as { id: string };
  await waitFor('first job sent', async () => (a.jobs.length === 1 ? true : undefined), 5000, 20);

  const second = (await start()).json() as { id: string };
  const seen = await events(ctl, second.id, (l) => l.some((e) => e.type === 'waiting'));
  t.deepEqual(seen.find((e) => e.type === 'waiting'), { type: 'waiting', host: 'server3', run: first.id });

  const refused = await start({ wait: false });
  t.is(refused.statusCode, 409);
  t.is(refused.json().error.code, 'CTL_ERR_HOSTS_BUSY');
  t.regex(refused.json().error.message, new RegExp(`server3 \\(run ${first.id}\\)`));

  const bounded = (await start({ waitTimeout: 0.3 })).json() as { id: string };
  const gaveUp = await ended(ctl, bounded.id);
  t.is(gaveUp.status, 'cancelled');
  t.like(gaveUp.stopped, { code: 'CTL_ERR_WAIT_TIMEOUT' });
  // It waited for the run just ahead of it in the host's line: the second one.
  t.regex(gaveUp.stopped!.message, new RegExp(`still waiting for run ${second.id} on server3 after 0\\.3 s`));
  t.true(gaveUp.hosts.server3!.results.length > 0);
  t.true(gaveUp.hosts.server3!.results.every((r) => r.status === 'skipped' && /^not run: still waiting/.test(r.msg ?? '')), 'every task accounted for, none run');

  // The first run ends; the second (still waiting, unbounded) gets the host; the one that gave up never does.
  const job1 = a.jobs[0]!;
  for (const r of results(job1)) a.s.emit('task:result', job1.runId, r);
  a.s.emit('run:end', { runId: job1.runId, host: 'server3', ms: 3 });
  await waitFor('second job sent', async () => (a.jobs.length === 2 ? true : undefined), 5000, 20);
  t.is(a.jobs[1]!.run, second.id);
  await new Promise((r) => setTimeout(r, 100));
  t.is(a.jobs.length, 2, 'nothing of the run that gave up was sent');
});

test('cancel: the agent is told, what it skips is recorded, the run ends cancelled; an ended run cannot be cancelled', async (t) => {
  const { ctl, agent, start } = await controller(t, path.join(root, 'cancel'));
  const a = await agent('server3');
  const run = (await start()).json() as { id: string };
  await waitFor('job sent', async () => (a.jobs.length ? true : undefined), 5000, 20);
  const job = a.jobs[0]!;
  t.like(job, { run: run.id, ttlMs: 3_600_000 });
  a.s.emit('task:result', job.runId, results(job)[0]);

  const res = await ctl.app.inject({ method: 'POST', url: `/api/runs/${run.id.slice(0, 5)}/cancel`, headers: auth, payload: {} });
  t.is(res.statusCode, 202);
  t.deepEqual(res.json(), { id: run.id, cancelling: true });
  await waitFor('cancel sent', async () => (a.cancels.length ? true : undefined), 5000, 20);
  t.deepEqual(a.cancels[0], { runId: job.runId, reason: 'cancelled by an operator (ctl runs cancel)', now: false });

  // The agent stops at its next task boundary: the rest skipped.
  for (const r of results(job).slice(1)) a.s.emit('task:result', job.runId, { ...r, status: 'skipped', msg: 'not run: cancelled: cancelled by an operator (ctl runs cancel)' });
  a.s.emit('run:end', { runId: job.runId, host: 'server3', ms: 2 });
  const done = await ended(ctl, run.id);
  t.is(done.status, 'cancelled');
  t.deepEqual(done.stopped, { code: 'CTL_ERR_RUN_CANCELLED', message: 'cancelled by an operator (ctl runs cancel)' });
  t.deepEqual(done.hosts.server3!.results.map((r) => r.status), ['changed', ...job.tasks.slice(1).map(() => 'skipped')]);
  t.is((await ctl.app.inject({ url: '/api/runs', headers: auth })).json()[0].status, 'cancelled');

  const again = await ctl.app.inject({ method: 'POST', url: `/api/runs/${run.id}/cancel`, headers: auth, payload: { now: true } });
  t.is(again.statusCode, 409);
  t.is(again.json().error.code, 'CTL_ERR_RUN_ENDED');
  t.is((await ctl.app.inject({ method: 'POST', url: '/api/runs/nosuch/cancel', headers: auth, payload: {} })).statusCode, 404);
});

test('a job the controller gives up on is cancelled on the agent, with its deadline and task limit sent along', async (t) => {
  const { ctl, agent, start } = await controller(t, path.join(root, 'giveup'));
  const a = await agent('server3');
  const run = (await start({ jobTimeout: 0.3, taskTimeout: 2 })).json() as { id: string };
  await waitFor('job sent', async () => (a.jobs.length ? true : undefined), 5000, 20);
  t.like(a.jobs[0], { ttlMs: 300, taskTimeoutMs: 2000 });
  const done = await ended(ctl, run.id);
  t.is(done.hosts.server3!.status, 'unreachable');
  await waitFor('cancel sent', async () => (a.cancels.length ? true : undefined), 5000, 20);
  t.deepEqual(a.cancels[0], { runId: a.jobs[0]!.runId, reason: 'given up by the controller (no answer within 0.3 s)', now: true });
});

test('a run left running by a stopped controller is interrupted, then completed from the agent\'s journal', async (t) => {
  const dataA = path.join(root, 'crash-a');
  const dataB = path.join(root, 'crash-b');
  const { first, a, run, job, all } = await runWithOneResult(t, dataA);
  await first.ctl.store.flush();
  // What a controller killed now leaves on disk.
  cpSync(dataA, dataB, { recursive: true });

  const second = await controller(t, dataB);
  const interrupted = await second.ctl.store.run(run.id);
  t.is(interrupted?.status, 'interrupted');
  t.is(interrupted?.stopped?.code, 'CTL_ERR_CONTROLLER_LOST');
  t.is(interrupted?.hosts.server3?.results.length, 1);
  t.deepEqual(second.ctl.recovery.pending(), { server3: [run.id] });

  // The agent went on meanwhile: still at it when first asked (two results), done when asked again.
  const asked: string[] = [];
  await second.agent('server3', (r) => {
    asked.push(r);
    if (r !== run.id) return [];
    const first = asked.length === 1;
    return [{ job: job.runId, run: run.id, receivedAt: new Date().toISOString(), state: first ? 'running' : 'ended', tasks: all.length, results: first ? all.slice(0, 2) : all, ...(first ? {} : { ms: 42 }) }];
  });
  await waitFor('the results so far recorded', async () => ((await second.ctl.store.run(run.id))?.hosts.server3?.results.length === 2 ? true : undefined), 10_000, 20);
  t.is((await second.ctl.store.run(run.id))?.hosts.server3?.status, 'running', 'not done while the agent is still at it');
  const completed = await waitFor('run completed', async () => {
    const r = await second.ctl.store.run(run.id);
    return r?.hosts.server3?.status === 'done' ? r : undefined;
  }, 10_000, 20);
  t.deepEqual(asked, [run.id, run.id], 'asked again while it was running');
  t.is(completed.status, 'interrupted');
  const got = completed.hosts.server3!.results;
  t.deepEqual(got.map((r) => [r.index, r.status, !!r.recovered]), all.map((r, i) => [r.index, 'changed', i > 0]), 'what the agent did, each result once, the new ones marked recovered');
  t.is(completed.hosts.server3!.ms, 42);
  t.deepEqual(second.ctl.recovery.pending(), {});
  // Read back from disk as a later controller would.
  await second.ctl.store.flush();
  const index = (await second.ctl.app.inject({ url: '/api/runs', headers: auth })).json() as { id: string; status: string; totals: { changed: number } }[];
  t.like(index.find((r) => r.id === run.id), { status: 'interrupted', totals: { changed: all.length } });
});

test('a controller stopped on purpose leaves its runs going to be completed at its next start, as after a crash', async (t) => {
  const data = path.join(root, 'stop');
  const { first, run, job, all } = await runWithOneResult(t, data);
  await first.close();

  const second = await controller(t, data);
  const interrupted = await second.ctl.store.run(run.id);
  t.is(interrupted?.status, 'interrupted', 'not ended as unreachable by the stop');
  t.is(interrupted?.hosts.server3?.status, 'running');
  await second.agent('server3', () => [{ job: job.runId, run: run.id, receivedAt: new Date().toISOString(), state: 'ended', tasks: all.length, results: all, ms: 7 }]);
  const completed = await waitFor('run completed', async () => {
    const r = await second.ctl.store.run(run.id);
    return r?.hosts.server3?.status === 'done' ? r : undefined;
  }, 10_000, 20);
  t.is(completed.hosts.server3!.results.length, all.length);
});
