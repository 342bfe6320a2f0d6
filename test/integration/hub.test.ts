import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { buildController } from '../../controller/app.js';
import { PROTOCOL_VERSION, type RunJob } from '../../common/protocol.js';
import { REPO, waitFor } from '../helpers/procs.js';

/** Real sockets on loopback: a controller and a hand-driven agent connection. */
const data = mkdtempSync(path.join(os.tmpdir(), 'lvst-hub-'));
test.after.always(() => rmSync(data, { recursive: true, force: true }));

async function setup(t: import('ava').ExecutionContext, jobTimeoutMs?: number) {
  const ctl = await buildController({ dataDir: path.join(data, String(Math.random())), token: 'tok', projectDir: REPO, ...(jobTimeoutMs ? { jobTimeoutMs } : {}) });
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(ctl.app.server.address() as { port: number }).port}`;
  const sockets: Socket[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.close();
    await ctl.close();
  });
  const agent = (name: string, token = 'tok') => {
    const s = io(url, { auth: { token, name, protocol: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false });
    sockets.push(s);
    return s;
  };
  const start = async () =>
    (await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: { authorization: 'Bearer tok' }, payload: { kind: 'role', role: 'lvs-realserver-dr', hosts: 'server3', inventory: 'inventory/dr.yml' } })).json() as { id: string };
  return { ctl, agent, start };
}

test('a wrong token is refused at the handshake', async (t) => {
  const { agent } = await setup(t);
  const s = agent('server3', 'nope');
  const err = await new Promise<Error>((resolve) => s.on('connect_error', resolve));
  t.regex(err.message, /unauthorized/);
});

test('an agent that never answers is given up after the job timeout, and frees its host', async (t) => {
  const { ctl, agent, start } = await setup(t, 300);
  const s = agent('server3');
  const jobs: RunJob[] = [];
  s.on('run:start', (job) => jobs.push(job));
  await new Promise<void>((resolve) => s.on('connect', () => resolve()));
  s.emit('facts', { hostname: 'server3', os: { family: 'redhat', major: 9 }, interfaces: [] } as never);
  await waitFor('facts stored', async () => (ctl.store.agent('server3')?.facts ? true : undefined), 5000, 20);

  const first = await start();
  const run1 = await waitFor('run given up', async () => ((await ctl.store.run(first.id))?.finishedAt ? ctl.store.run(first.id) : undefined), 5000, 20);
  t.is(run1.hosts.server3.status, 'unreachable');
  t.regex(run1.hosts.server3.error ?? '', /no answer within/);

  // The host's lock was released: a second run is dispatched to the agent as well.
  const second = await start();
  await waitFor('second job dispatched', async () => (jobs.some((j) => j.runId.startsWith(second.id)) ? true : undefined), 5000, 20);
  t.is(jobs.length, 2);
  s.emit('task:result', jobs[0].runId, { index: 0, name: 'late', module: 'address', status: 'ok', ms: 1 });
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual((await ctl.store.run(first.id))!.hosts.server3.results, [], 'a late result of the given-up job is dropped');
});
