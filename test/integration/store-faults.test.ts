import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, type RunJob } from '../../common/protocol.js';
import { REPO, waitFor } from '../helpers/procs.js';
import { startTlsController } from '../helpers/tls-controller.js';

/** A controller on loopback with a hand-driven agent connection, and a data folder that goes away mid-run. */
const root = mkdtempSync(path.join(os.tmpdir(), 'lvst-store-int-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
async function setup(t: import('ava').ExecutionContext, name: string) {
  const data = path.join(root, name);
  const tls = await startTlsController(data, { projectDir: REPO, storeRetryMs: 50, log: { error: () => undefined } });
  const { ctl, url, auth } = tls;
  const s: Socket = io(url, { auth: { name: 'server3', protocol: PROTOCOL_VERSION }, ...(await tls.identity('server3')), rejectUnauthorized: true, transports: ['websocket'], reconnection: false });
  t.teardown(async () => {
    s.close();
    await ctl.close();
  });
  const jobs: RunJob[] = [];
  s.on('run:start', (job) => jobs.push(job));
  await new Promise<void>((resolve) => s.on('connect', () => resolve()));
  s.emit('facts', { hostname: 'server3', os: { family: 'redhat', major: 9 }, interfaces: [] } as never);
  await waitFor('facts stored', async () => (ctl.store.agent('server3')?.facts ? true : undefined), 5000, 20);
  const start = () => ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role: 'lvs-realserver-dr', hosts: 'server3', inventory: 'inventory/dr.yml' } });
  return { ctl, s, jobs, start, data, auth };
}

test('the data folder gone mid-run: the run still ends, /api/health shows the error, the next run is refused', async (t) => {
  const { ctl, s, jobs, start, data } = await setup(t, 'midrun');
  const first = (await start()).json() as { id: string };
  await waitFor('job dispatched', async () => (jobs.length ? true : undefined), 5000, 20);
  s.emit('task:result', jobs[0]!.runId, { index: 0, name: 'vip on lo', module: 'address', status: 'changed', ms: 1 });
  await ctl.store.flush();
  t.true(existsSync(path.join(data, `runs/${first.id}.ndjson`)), 'the first result was journalled');

  renameSync(data, `${data}.away`);
  writeFileSync(data, '');
  s.emit('task:result', jobs[0]!.runId, { index: 1, name: 'route', module: 'route', status: 'ok', ms: 1 });
  s.emit('run:end', { runId: jobs[0]!.runId, host: 'server3', ms: 3 });
  await waitFor('run ended', async () => (ctl.store.runs().find((r) => r.id === first.id)?.finishedAt ? true : undefined), 5000, 20);
  await ctl.store.flush();
  const health = await ctl.app.inject({ url: '/api/health' });
  t.is(health.statusCode, 503);
  t.regex(health.json().store.error, /ENOTDIR/);
  const refused = await start();
  t.is(refused.statusCode, 503);
  t.is(refused.json().error.code, 'CTL_ERR_STORE_UNWRITABLE');
  t.is(jobs.length, 1, 'nothing was sent to the agent for the refused run');

  rmSync(data);
  renameSync(`${data}.away`, data);
  await waitFor('store writable again', async () => (ctl.store.health().writable ? true : undefined), 5000, 20);
  const index = JSON.parse(readFileSync(path.join(data, 'store.json'), 'utf8')) as { runs: { id: string; status: string; totals: { changed: number; ok: number } }[] };
  const entry = index.runs.find((r) => r.id === first.id)!;
  t.is(entry.status, 'done', 'the end of the run written once the folder was back');
  t.deepEqual([entry.totals.changed, entry.totals.ok], [1, 1]);
  t.deepEqual((await ctl.store.run(first.id))!.hosts.server3.results.map((r) => r.status), ['changed', 'ok'], 'the result that came while the folder was gone is in the journal');
  t.is((await start()).statusCode, 201);
});

test('ctl agents forget: refused while connected, then the agent record and ledger are gone', async (t) => {
  const { ctl, s, auth } = await setup(t, 'forget');
  ctl.store.setLedger('server3', 'lvs-realserver', [{ id: 'vip', module: 'address', retire: {} }]);
  const del = () => ctl.app.inject({ method: 'DELETE', url: '/api/agents/server3', headers: auth });
  const busy = await del();
  t.is(busy.statusCode, 409);
  t.is(busy.json().error.code, 'CTL_ERR_AGENT_CONNECTED');
  s.close();
  await waitFor('agent offline', async () => (ctl.hub.isOnline('server3') ? undefined : true), 5000, 20);
  const gone = await del();
  t.is(gone.statusCode, 200);
  t.deepEqual(gone.json(), { forgotten: 'server3', ledgerSlots: 1 });
  t.deepEqual((await ctl.app.inject({ url: '/api/agents', headers: auth })).json(), []);
  t.is((await del()).statusCode, 404);
  t.is((await ctl.app.inject({ method: 'DELETE', url: '/api/agents/..%2Fx', headers: auth })).statusCode, 400);
});
