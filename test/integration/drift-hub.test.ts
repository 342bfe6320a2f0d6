import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { buildController, type Controller } from '../../controller/app.js';
import type { DesiredState, DriftReport } from '../../common/desired-state.js';
import type { Finding } from '../../common/findings.js';
import type { HealthReply } from '../../common/health-api.js';
import { PROTOCOL_VERSION, type RunJob } from '../../common/protocol.js';
import type { ViewSnapshot } from '../../common/view.js';
import { parsePrometheusText, sample } from '../helpers/prom-text.js';
import { REPO, waitFor } from '../helpers/procs.js';

/**
 * The controller's side of drift and the live view over real sockets on loopback: a real
 * controller and hand-driven agent connections (no namespaces, no lab).
 */
const data = mkdtempSync(path.join(os.tmpdir(), 'lvst-drift-hub-'));
test.after.always(() => rmSync(data, { recursive: true, force: true }));
const auth = { authorization: 'Bearer tok' };

interface FakeAgent {
  socket: Socket;
  jobs: RunJob[];
  desired: DesiredState[];
}

async function setup(t: import('ava').ExecutionContext) {
  const ctl: Controller = await buildController({ dataDir: path.join(data, String(Math.random())), token: 'tok', projectDir: REPO, metricsToken: 'scrape-token-0123456789', drift: { unresponsiveAfter: 3 } });
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(ctl.app.server.address() as { port: number }).port}`;
  const sockets: Socket[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.close();
    await ctl.close();
  });
  /**
   * An agent that answers every job with every task ok, and the health checks' question with
   * `health` (a director's checker and kernel counters; none for a real server).
   */
  const agent = async (name: string, heartbeatMs?: number, health?: HealthReply): Promise<FakeAgent> => {
    const socket = io(url, { auth: { token: 'tok', name, protocol: PROTOCOL_VERSION, ...(heartbeatMs ? { heartbeatMs } : {}) }, transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const a: FakeAgent = { socket, jobs: [], desired: [] };
    socket.on('run:start', (job: RunJob) => {
      a.jobs.push(job);
      job.tasks.forEach((task, index) => socket.emit('task:result', job.runId, { index, name: task.name, module: task.module, ...(task.role ? { role: task.role } : {}), status: 'ok', ms: 3 }));
      socket.emit('run:end', { runId: job.runId, host: name, ms: 5 });
    });
    socket.on('desired:set', (s: DesiredState) => a.desired.push(s));
    socket.on('health:snapshot', (ack: (r: HealthReply) => void) => ack(health ?? { snapshot: { at: Date.now(), drained: [], services: [] }, kernel: { services: [] } }));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.emit('facts', { hostname: name, os: { distro: 'Debian', release: '12', kernel: '6.1.0', family: 'debian', major: 12 }, interfaces: [{ name: 'eth0', ip4: name === 'server3' ? '172.25.7.3' : '172.25.7.2' }], pkgManager: 'apt', initSystem: 'sysv' } as never);
    socket.emit('heartbeat', { uptime: 100, load1: 0.1, memFree: 1, memTotal: 2, busy: 0 });
    await waitFor(`${name} known`, async () => (ctl.store.agent(name)?.facts ? true : undefined), 5000, 20);
    return a;
  };
  const runRole = async (role: string, hosts: string, extraVars: Record<string, unknown> = {}) => {
    const res = await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role, hosts, inventory: 'inventory/dr.yml', extraVars } });
    t.is(res.statusCode, 201, res.body);
    const { id } = res.json() as { id: string };
    await waitFor(`run ${id} ended`, async () => (ctl.store.runs().find((r) => r.id === id)?.status === 'done' ? true : undefined), 10_000, 20);
    return id;
  };
  const get = async <T>(u: string, headers: Record<string, string> = auth) => {
    const r = await ctl.app.inject({ url: u, headers });
    if (r.statusCode !== 200) throw new Error(`${u}: ${r.statusCode} ${r.body}`);
    return r.json() as T;
  };
  return { ctl, url, agent, runRole, get };
}

const vipMissing: Finding = { role: 'lvs-realserver-dr', task: 'VIP on lo:0, a device that never answers ARP', module: 'address', field: '172.25.7.200 on lo', before: null, after: '172.25.7.200/32 label lo:0', text: '172.25.7.200/32 missing on lo' };
const report = (revision: number, all: Finding[]): DriftReport => ({ all, first: false, revision, at: Date.now() });

test('an applying run makes the hosts\' held state, pushed at its end and at each connect; reported findings open and resolve', async (t) => {
  const { ctl, agent, runRole, get } = await setup(t);
  const a = await agent('server3');
  const run = await runRole('lvs-realserver-dr', 'server3');
  await waitFor('the push', async () => a.desired[0], 5000, 20);
  const held = a.desired[0];
  t.like(held, { host: 'server3', revision: 1 });
  t.deepEqual(held.slots.map((s) => [s.slot, s.roles, s.policy, s.runId]), [['lvs-realserver', ['lvs-realserver-dr'], 'report', run]]);
  t.deepEqual(held.slots[0].tasks, a.jobs[0].tasks, 'what the run applied is what is held');

  // A check mode run holds nothing new and pushes nothing.
  await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role: 'httpd', hosts: 'server3', inventory: 'inventory/dr.yml', check: true } });
  await waitFor('the check run', async () => (a.jobs.length === 2 ? true : undefined), 5000, 20);

  a.socket.emit('drift:findings', report(1, [vipMissing]));
  const open = await waitFor('the finding', async () => {
    const r = await get<{ findings: { host: string; text: string; firstSeen: string }[]; hosts: { host: string; state: string; reportedAt: string | null }[] }>('/api/findings');
    return r.findings.length ? r : undefined;
  }, 5000, 20);
  t.deepEqual(open.findings.map((f) => [f.host, f.text]), [['server3', '172.25.7.200/32 missing on lo']]);
  t.like(open.hosts[0], { host: 'server3', state: 'online' });
  t.truthy(open.hosts[0].reportedAt);

  // A report of an older state says nothing now; one that is not a report is refused.
  a.socket.emit('drift:findings', report(0, []));
  a.socket.emit('drift:findings', { all: 'nothing' });
  const view = await get<ViewSnapshot>('/api/view');
  const s3 = view.agents.find((x) => x.name === 'server3')!;
  t.like(s3, { state: 'online', roles: ['lvs-realserver-dr'], os: { distro: 'Debian', release: '12', kernel: '6.1.0' } });
  t.deepEqual(s3.findings.map((f) => f.text), ['172.25.7.200/32 missing on lo']);
  t.like(s3.lastRun, { status: 'ok', label: 'intentional', check: true });
  t.true(view.events.some((e) => e.kind === 'drift-found' && e.host === 'server3' && e.text === '172.25.7.200/32 missing on lo'));

  a.socket.emit('drift:findings', report(1, []));
  const history = await waitFor('resolved', async () => {
    const h = await get<{ text: string; resolvedAt?: string }[]>('/api/findings/history?host=server3');
    return h.length ? h : undefined;
  }, 5000, 20);
  t.is(history[0].text, '172.25.7.200/32 missing on lo');
  t.truthy(history[0].resolvedAt);
  t.deepEqual((await get<{ findings: unknown[] }>('/api/findings')).findings, []);

  // Reconnected (or restarted), the agent is told what to hold at once.
  a.socket.close();
  const again = await agent('server3');
  await waitFor('the push at connect', async () => again.desired[0], 5000, 20);
  t.deepEqual(again.desired[0], held);
});

test('policy fix: a finding of a fix role starts a corrective run of the held slot, labelled in the run history', async (t) => {
  const { agent, runRole, get } = await setup(t);
  const a = await agent('server3');
  await runRole('lvs-realserver-dr', 'server3', { lvs_drift_policy: 'fix' });
  await waitFor('the push', async () => a.desired[0], 5000, 20);
  t.is(a.desired[0].slots[0].policy, 'fix');

  a.socket.emit('drift:findings', report(1, [vipMissing]));
  const job = await waitFor('the corrective job', async () => a.jobs[1], 5000, 20);
  t.deepEqual(job.tasks, a.desired[0].slots[0].tasks);
  t.false(job.check);
  const runs = await waitFor('the run ended', async () => {
    const r = await get<{ id: string; label: string; origin: string; status: string; title: string }[]>('/api/runs');
    return r[0]?.status === 'done' ? r : undefined;
  }, 5000, 20);
  t.like(runs[0], { label: 'corrective', origin: 'schedule', title: 'corrective: 1 drift finding on server3' });
  t.like(runs[1], { label: 'intentional' });
  // The run ended: the agent is told to go on watching the same state.
  await waitFor('the push after the corrective run', async () => a.desired[1], 5000, 20);
  t.is(a.desired[1].revision, 1);
});

test('a finding already open under report is repaired once the held policy becomes fix', async (t) => {
  const { agent, runRole } = await setup(t);
  const a = await agent('server4');
  await runRole('lvs-realserver-dr', 'server4');
  await waitFor('the push', async () => a.desired[0], 5000, 20);
  a.socket.emit('drift:findings', report(1, [vipMissing]));
  await new Promise((r) => setTimeout(r, 300));
  t.is(a.jobs.length, 1, 'report: nothing run');
  await runRole('lvs-realserver-dr', 'server4', { lvs_drift_policy: 'fix' });
  await waitFor('the new push', async () => a.desired[1], 5000, 20);
  // The agent checks the new state and finds the same: the finding is not new, the policy is.
  a.socket.emit('drift:findings', report(2, [vipMissing]));
  const job = await waitFor('the corrective job', async () => a.jobs[2], 5000, 20);
  t.deepEqual(job.tasks, a.desired[1].slots[0].tasks);
});

const SVC = 'tcp:172.25.7.200:80';
/** A director whose checker has 172.25.7.3 down (HTTP 503, inhibited) and 172.25.7.4 up. */
function directorReply(): HealthReply {
  const rs = (addr: string, up: boolean) => ({ service: SVC, realServer: `${addr}:80`, declaredWeight: 3, weight: up ? 3 : 0, state: up ? ('up' as const) : ('down' as const), drained: false, sorry: false, note: up ? 'up' : 'inhibited', check: 'http' as const, ...(up ? {} : { reason: 'HTTP 503' }), okStreak: up ? 3 : 0, failStreak: up ? 0 : 2, checks: 9, failures: up ? 0 : 2, downTransitions: up ? 0 : 1, lastCheckAt: Date.now(), lastCheckMs: 4, since: Date.now() - 25_000, lastResult: up ? 'HTTP 200' : 'HTTP 503' });
  return {
    snapshot: { at: Date.now(), drained: [], services: [{ service: SVC, quorum: { held: true, quorum: 1, hysteresis: 0, liveWeight: 3 }, realServers: [rs('172.25.7.3', false), rs('172.25.7.4', true)] }] },
    kernel: {
      services: [
        {
          service: SVC,
          scheduler: 'wrr',
          cps: 12,
          realServers: [
            { realServer: '172.25.7.3:80', forwarding: 'Route', weight: 0, activeConn: 2, inActConn: 7, cps: 0 },
            { realServer: '172.25.7.4:80', forwarding: 'Route', weight: 3, activeConn: 4, inActConn: 31, cps: 5 },
          ],
        },
      ],
    },
  };
}

test('/metrics: Prometheus text behind the API or the scrape token, with agents, runs, tasks, findings, real-server health and the IPVS series', async (t) => {
  const { ctl, agent, runRole } = await setup(t);
  const a = await agent('server3');
  await agent('server2', undefined, directorReply());
  await runRole('lvs-realserver-dr', 'server3');
  a.socket.emit('drift:findings', report(1, [vipMissing]));
  const view = await waitFor('the director', async () => {
    const v = (await ctl.app.inject({ url: '/api/view', headers: auth })).json<ViewSnapshot>();
    return v.directors.length ? v : undefined;
  }, 5000, 20);
  const rs3 = view.directors[0].services[0].realServers[0];
  t.like(rs3, { address: '172.25.7.3:80', host: 'server3', weight: { declared: 3, live: 0 }, health: { state: 'down', reason: 'HTTP 503' }, activeConn: 2, inactConn: 7, connRate: 0 });

  t.is((await ctl.app.inject({ url: '/metrics' })).statusCode, 401);
  t.is((await ctl.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  t.is((await ctl.app.inject({ url: '/api/agents', headers: { authorization: 'Bearer scrape-token-0123456789' } })).statusCode, 401, 'the scrape token reads /metrics only');
  const res = await waitFor('the finding counted', async () => {
    const r = await ctl.app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token-0123456789' } });
    return r.body.includes('lvsctl_drift_findings_open{host="server3"} 1') ? r : undefined;
  }, 5000, 20);
  t.regex(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheusText(res.body);
  t.is(m.types.get('lvsctl_agents'), 'gauge');
  t.is(sample(m, 'lvsctl_agents', { state: 'online' }), 2);
  for (const state of ['unresponsive', 'offline', 'revoked']) t.is(sample(m, 'lvsctl_agents', { state }), 0);
  t.is(m.types.get('lvsctl_runs_total'), 'counter');
  t.is(sample(m, 'lvsctl_runs_total', { status: 'ok', label: 'intentional' }), 1);
  t.is(sample(m, 'lvsctl_runs_total', { status: 'ok', label: 'corrective' }), 0);
  t.is(m.types.get('lvsctl_task_duration_seconds'), 'histogram');
  t.true(sample(m, 'lvsctl_task_duration_seconds_count', { module: 'address', status: 'ok' })! >= 1);
  t.is(sample(m, 'lvsctl_drift_findings_open', { host: 'server3' }), 1);
  t.is(sample(m, 'lvsctl_drift_findings_open', { host: 'server2' }), 0);
  const rs = { director: 'server2', service: SVC, realserver: '172.25.7.3:80' };
  const rs4 = { ...rs, realserver: '172.25.7.4:80' };
  t.is(sample(m, 'lvsctl_realserver_up', rs), 0);
  t.is(sample(m, 'lvsctl_realserver_up', rs4), 1);
  t.is(sample(m, 'lvsctl_realserver_weight', { ...rs, kind: 'live' }), 0);
  t.is(sample(m, 'lvsctl_realserver_weight', { ...rs, kind: 'declared' }), 3);
  t.is(sample(m, 'lvsctl_ipvs_active_connections', rs), 2);
  t.is(sample(m, 'lvsctl_ipvs_inactive_connections', rs), 7);
  t.is(sample(m, 'lvsctl_ipvs_connection_rate', rs4), 5);
  t.is(sample(m, 'lvsctl_ipvs_service_connection_rate', { director: 'server2', service: SVC }), 12);
  t.is((await ctl.app.inject({ url: '/metrics', headers: auth })).statusCode, 200, 'the API token reads it too');
});

test('the view: sign in for a session cookie, the /view namespace pushes snapshots to it alone; an agent turns unresponsive, then offline', async (t) => {
  const { ctl, url, agent, get } = await setup(t);
  t.is((await ctl.app.inject({ method: 'POST', url: '/login', payload: { token: 'nope' } })).statusCode, 401);
  const login = await ctl.app.inject({ method: 'POST', url: '/login', payload: { token: 'tok' } });
  t.is(login.statusCode, 200);
  const setCookie = String(login.headers['set-cookie']);
  t.regex(setCookie, /^lvsctl_session=[A-Za-z0-9_-]+;/);
  t.regex(setCookie, /HttpOnly/);
  t.regex(setCookie, /SameSite=Strict/);
  const cookie = setCookie.split(';')[0];
  t.is((await ctl.app.inject({ url: '/api/view', headers: { cookie } })).statusCode, 200);

  const refused = io(`${url}/view`, { transports: ['websocket'], reconnection: false });
  t.teardown(() => refused.close());
  t.regex((await new Promise<Error>((r) => refused.on('connect_error', r))).message, /unauthorized/);

  const page = io(`${url}/view`, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie } });
  t.teardown(() => page.close());
  const snapshots: ViewSnapshot[] = [];
  page.on('snapshot', (v: ViewSnapshot) => snapshots.push(v));
  await waitFor('the first snapshot', async () => snapshots[0], 5000, 20);

  const a = await agent('server4', 200);
  const stateOf = (v: ViewSnapshot | undefined) => v?.agents.find((x) => x.name === 'server4')?.state;
  await waitFor('server4 online', async () => (stateOf(snapshots.at(-1)) === 'online' ? true : undefined), 5000, 20);
  // Heartbeats stop (a hung agent, its connection still up): more than 3 missed makes it unresponsive.
  await waitFor('server4 unresponsive', async () => (stateOf(snapshots.at(-1)) === 'unresponsive' ? true : undefined), 10_000, 20);
  t.is((await get<ViewSnapshot>('/api/view')).agents.find((x) => x.name === 'server4')!.state, 'unresponsive');
  a.socket.close();
  await waitFor('server4 offline', async () => (stateOf(snapshots.at(-1)) === 'offline' ? true : undefined), 5000, 20);

  // Signed out: the session ends, and the page's socket with it.
  t.is((await ctl.app.inject({ method: 'POST', url: '/logout', headers: { cookie } })).statusCode, 200);
  t.is((await ctl.app.inject({ url: '/api/view', headers: { cookie } })).statusCode, 401);
  await waitFor('the page disconnected', async () => (page.connected ? undefined : true), 5000, 20);
});
