import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { buildController } from '../../controller/app.js';
import { PROTOCOL_VERSION, type RunJob } from '../../common/protocol.js';
import { captureLog, type LogLine } from '../helpers/log-capture.js';
import { REPO, waitFor } from '../helpers/procs.js';
import { startTlsController } from '../helpers/tls-controller.js';

/** Real sockets on loopback: a controller and a hand-driven agent connection. */
const data = mkdtempSync(path.join(os.tmpdir(), 'lvst-hub-'));
test.after.always(() => rmSync(data, { recursive: true, force: true }));

/**
 * TLS by default: agents connect with a client certificate of the controller's CA. The first
 * two tests are about the `--insecure-http` dev controller's own handshake checks (its shared
 * token and the name an agent gives), so they run on one; certificate refusals are proven in
 * security.test.ts.
 */
async function setup(t: import('ava').ExecutionContext, jobTimeoutMs?: number, mode: 'tls' | 'insecure' = 'tls') {
  const { log: logger, lines } = captureLog('info');
  const dataDir = path.join(data, String(Math.random()));
  const opts = { projectDir: REPO, logger, ...(jobTimeoutMs ? { jobTimeoutMs } : {}) };
  const tls = mode === 'tls' ? await startTlsController(dataDir, opts) : undefined;
  const ctl = tls?.ctl ?? (await buildController({ ...opts, dataDir, token: 'tok' }));
  if (!tls) await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const url = tls?.url ?? `http://127.0.0.1:${(ctl.app.server.address() as { port: number }).port}`;
  const headers = tls?.auth ?? { authorization: 'Bearer tok' };
  const sockets: Socket[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.close();
    await ctl.close();
  });
  const agent = async (name: string, token = 'tok', protocol: number = PROTOCOL_VERSION) => {
    const creds = tls ? await tls.identity(name) : {};
    const s = io(url, { auth: tls ? { name, protocol } : { token, name, protocol }, ...creds, rejectUnauthorized: true, transports: ['websocket'], reconnection: false });
    sockets.push(s);
    return s;
  };
  const start = async (extraVars?: Record<string, unknown>) =>
    (await ctl.app.inject({ method: 'POST', url: '/api/runs', headers, payload: { kind: 'role', role: 'lvs-realserver-dr', hosts: 'server3', inventory: 'inventory/dr.yml', ...(extraVars ? { extraVars } : {}) } })).json() as { id: string };
  const logged = (msg: string, timeoutMs = 5000) => waitFor(`log line '${msg}'`, async () => lines.find((l) => l.msg === msg), timeoutMs, 20);
  return { ctl, agent, start, lines, logged };
}

test('a wrong token is refused at the handshake (dev controller)', async (t) => {
  const { agent, lines, logged } = await setup(t, undefined, 'insecure');
  const s = await agent('server3', 'nope-wrong-secret');
  const err = await new Promise<Error>((resolve) => s.on('connect_error', resolve));
  t.regex(err.message, /unauthorized/);

  // The refusal leaves one line with its reason and the peer's address, and never the token.
  const line = await logged('agent refused');
  t.like(line, { level: 40, reason: 'unauthorized: bad token', peer: '127.0.0.1', agent: 'server3', component: 'hub' });
  t.false(JSON.stringify(lines).includes('nope-wrong-secret'));
});

test('every refusal, connection and disconnection is one log line (dev controller)', async (t) => {
  const { agent, lines, logged } = await setup(t, undefined, 'insecure');
  const refused = (s: Socket) => new Promise<Error>((resolve) => s.on('connect_error', resolve));
  await refused(await agent('bad name!'));
  await refused(await agent('server3', 'tok', PROTOCOL_VERSION + 99));
  await waitFor('two refusals logged', async () => (lines.filter((l) => l.msg === 'agent refused').length === 2 ? true : undefined), 5000, 20);
  t.deepEqual(
    lines.filter((l) => l.msg === 'agent refused').map((l) => l.reason),
    ['bad agent name', `protocol ${PROTOCOL_VERSION + 99} not supported (want ${PROTOCOL_VERSION})`],
  );

  const s = await agent('server4');
  await new Promise<void>((resolve) => s.on('connect', () => resolve()));
  t.like(await logged('agent connected'), { level: 30, agent: 'server4', peer: '127.0.0.1' });
  s.close();
  t.like(await logged('agent disconnected'), { level: 30, agent: 'server4', reason: 'client namespace disconnect' });
  t.false(JSON.stringify(lines).includes('"tok"'), 'the good token is not logged either');
});

test('a run logs its start and end with id, title, hosts and result counts; the inventory facts override reaches the agent', async (t) => {
  const { ctl, agent, start, lines, logged } = await setup(t);
  const s = await agent('server3');
  const jobs: RunJob[] = [];
  s.on('run:start', (job: RunJob) => {
    jobs.push(job);
    job.tasks.forEach((task, index) => s.emit('task:result', job.runId, { index, name: task.name, module: task.module, status: index === 0 ? 'changed' : 'ok', ms: 1 }));
    s.emit('run:end', { runId: job.runId, host: 'server3', ms: 5 });
  });
  await new Promise<void>((resolve) => s.on('connect', () => resolve()));
  s.emit('facts', { hostname: 'server3', os: { family: 'redhat', major: 9 }, interfaces: [], pkgManager: 'dnf', initSystem: 'systemd' } as never);
  await waitFor('facts stored', async () => (ctl.store.agent('server3')?.facts ? true : undefined), 5000, 20);

  const { id } = await start({ ansible_pkg_mgr: 'yum' });
  const end = await logged('run ended');
  const begin = lines.find((l) => l.msg === 'run started') as LogLine;
  t.like(begin, { run: id, hosts: ['server3'], component: 'runs' });
  t.regex(String(begin.title), /lvs-realserver-dr/);
  t.is(jobs.length, 1);
  t.deepEqual(jobs[0].factsOverride, { pkgManager: 'yum' });
  t.like(end, { run: id, title: begin.title, hosts: ['server3'], changed: 1, ok: jobs[0].tasks.length - 1, failed: 0, unreachable: 0 });
});

test('an agent that never answers is given up after the job timeout, and frees its host', async (t) => {
  const { ctl, agent, start } = await setup(t, 300);
  const s = await agent('server3');
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
