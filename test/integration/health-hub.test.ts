import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { buildController, type Controller } from '../../controller/app.js';
import { exec } from '../../common/exec.js';
import { EXIT } from '../../common/errors.js';
import type { HealthReply, HealthTransitionWire } from '../../common/health-api.js';
import { PROTOCOL_VERSION } from '../../common/protocol.js';
import { captureLog } from '../helpers/log-capture.js';
import { CTL, REPO, waitFor } from '../helpers/procs.js';

/**
 * The controller's side of real-server health over real sockets on loopback: a hand-driven
 * director connection sends transitions and answers snapshot requests; `ctl` runs as a process.
 */
const data = mkdtempSync(path.join(os.tmpdir(), 'lvst-health-hub-'));
test.after.always(() => rmSync(data, { recursive: true, force: true }));

const SVC = 'tcp:172.25.7.200:80';
const DOWN: HealthTransitionWire = { kind: 'realserver', service: SVC, realServer: '172.25.7.3:80', from: 'up', to: 'down', reason: 'connect refused', at: Date.UTC(2024, 0, 1), checkMs: 3 };

/** What the fake director answers: the checker's view of 172.25.7.3 and the kernel's counters. */
function answer(o: { weight: number; active: number; drained?: boolean }): HealthReply {
  const rs = { service: SVC, realServer: '172.25.7.3:80', declaredWeight: 1, weight: o.drained ? 0 : 1, state: 'up' as const, drained: !!o.drained, sorry: false, note: o.drained ? 'drained' : 'up', check: 'http' as const, okStreak: 3, failStreak: 0, checks: 3, failures: 0, downTransitions: 0, lastCheckAt: Date.now(), lastCheckMs: 4, lastResult: 'HTTP 200' };
  return {
    snapshot: { at: Date.now(), drained: o.drained ? ['172.25.7.3'] : [], services: [{ service: SVC, quorum: { held: true, quorum: 1, hysteresis: 0, liveWeight: 1 }, realServers: [rs] }] },
    kernel: { services: [{ service: SVC, scheduler: 'rr', cps: 0, realServers: [{ realServer: '172.25.7.3:80', forwarding: 'dr', weight: o.weight, activeConn: o.active, inActConn: 0, cps: 0 }] }] },
  };
}

async function controller(t: import('ava').ExecutionContext, dir: string) {
  const { log: logger, lines } = captureLog('info');
  const ctl = await buildController({ dataDir: dir, token: 'tok', projectDir: REPO, logger });
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(ctl.app.server.address() as { port: number }).port}`;
  return { ctl, url, lines };
}

function director(t: import('ava').ExecutionContext, url: string, name = 'server2') {
  const drained: string[][] = [];
  let reply: HealthReply | undefined = answer({ weight: 1, active: 0 });
  const s: Socket = io(url, { auth: { token: 'tok', name, protocol: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false });
  t.teardown(() => void s.close());
  s.on('health:drained', (a: string[]) => drained.push(a));
  s.on('health:snapshot', (ack: (r: HealthReply) => void) => reply && ack(reply));
  const connected = new Promise<void>((resolve) => s.on('connect', () => resolve()));
  return { s, drained, connected, set: (r: HealthReply | undefined) => (reply = r) };
}

const api = (c: Controller, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  c.app.inject({ method, url, headers: { authorization: 'Bearer tok' }, ...(payload ? { payload } : {}) });
const ctlRun = (url: string, args: string[]) => exec(process.execPath, [CTL, ...args, '--controller', url], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', LVSCTL_TOKEN: 'tok' }, timeoutMs: 60_000 });

test('transitions are stored with their time and listed by /api/events and ctl events; what is not a transition is refused', async (t) => {
  const { ctl, url, lines } = await controller(t, path.join(data, 'events'));
  t.teardown(() => ctl.close());
  const d = director(t, url);
  await d.connected;
  d.s.emit('health:transition', DOWN);
  d.s.emit('health:transition', { kind: 'realserver', service: SVC });
  d.s.emit('health:transition', { ...DOWN, from: 'down', to: 'up', reason: 'HTTP 200', at: DOWN.at + 4000 });
  const events = await waitFor('two events', async () => {
    const r = (await api(ctl, 'GET', '/api/events')).json() as { reason: string; host: string; receivedAt: string }[];
    return r.length === 2 ? r : undefined;
  }, 5000, 20);
  t.deepEqual(events.map((e) => [e.host, e.reason]), [['server2', 'connect refused'], ['server2', 'HTTP 200']]);
  t.true(events.every((e) => !Number.isNaN(Date.parse(e.receivedAt))));
  t.true(lines.some((l) => l.msg === 'health transition refused: not a transition' && l.agent === 'server2'));
  t.is((await api(ctl, 'GET', '/api/events?limit=0')).statusCode, 400, 'a bad limit names the field');

  const out = await ctlRun(url, ['events']);
  t.is(out.code, EXIT.ok, out.stderr);
  t.deepEqual(out.stdout.trim().split('\n'), [
    '2024-01-01T00:00:00.000Z  server2  tcp:172.25.7.200:80 172.25.7.3:80  up -> down: connect refused (check 3 ms)',
    '2024-01-01T00:00:04.000Z  server2  tcp:172.25.7.200:80 172.25.7.3:80  down -> up: HTTP 200 (check 3 ms)',
  ]);
});

test('status asks each director for its snapshot and counters; ctl status shows declared and live weight, health, last check, connections', async (t) => {
  const { ctl, url } = await controller(t, path.join(data, 'status'));
  t.teardown(() => ctl.close());
  const d = director(t, url);
  await d.connected;
  d.set(answer({ weight: 1, active: 4 }));
  const st = (await api(ctl, 'GET', '/api/status')).json() as { directors: { host: string; services: { realServers: { liveWeight: number; activeConn: number; state: string }[] }[] }[] };
  t.deepEqual(st.directors.map((x) => x.host), ['server2']);
  t.like(st.directors[0].services[0].realServers[0], { liveWeight: 1, activeConn: 4, state: 'up' });
  const out = await ctlRun(url, ['status']);
  t.is(out.code, EXIT.ok, out.stderr);
  t.regex(out.stdout, /^server2 {2}\(as of \d\d:\d\d:\d\d\)$/m);
  t.regex(out.stdout, /^ {2}TCP 172\.25\.7\.200:80 rr {2}quorum 1 held \(live weight 1\) {2}0 conn\/s$/m);
  t.regex(out.stdout, /^ {4}172\.25\.7\.3:80 +dr +1 +1 +up +http +\d\d:\d\d:\d\d \(4 ms\) +HTTP 200 +4 +0 +0$/m, out.stdout);

  // A director that reported before and is gone is listed with why there is no answer.
  d.s.emit('health:transition', DOWN);
  await waitFor('event stored', async () => (((await api(ctl, 'GET', '/api/events')).json() as unknown[]).length ? true : undefined), 5000, 20);
  d.s.close();
  await waitFor('disconnected', async () => (ctl.hub.isOnline('server2') ? undefined : true), 5000, 20);
  const gone = (await api(ctl, 'GET', '/api/status')).json() as { directors: { host: string; error?: string }[] };
  t.deepEqual(gone.directors, [{ host: 'server2', error: 'not connected', drained: [], services: [] }]);
});

test('drain: pushed to every agent now and at each connect, kept across a controller restart until undrained; --wait ends when connections do or at the timeout', async (t) => {
  const dir = path.join(data, 'drain');
  const first = await controller(t, dir);
  const d = director(t, first.url);
  await d.connected;
  await waitFor('initial drained set', async () => (d.drained.length ? true : undefined), 5000, 20);
  t.deepEqual(d.drained, [[]], 'the (empty) drained set at connect');

  d.set(answer({ weight: 0, active: 1, drained: true }));
  const timeout = await ctlRun(first.url, ['drain', '172.25.7.3', '--wait', '--timeout', '2s']);
  t.is(timeout.code, EXIT.drainTimeout, timeout.stdout + timeout.stderr);
  t.regex(timeout.stdout, /^drained: 172\.25\.7\.3 \(172\.25\.7\.3\); sent to server2$/m);
  t.regex(timeout.stdout, /^waiting: server2 tcp:172\.25\.7\.200:80 172\.25\.7\.3:80: 1 active \(weight 0\)$/m);
  t.regex(timeout.stderr, /^ERROR! 172\.25\.7\.3 still busy after 2 s: server2 .*: 1 active \(weight 0\); it stays drained \(ctl undrain 172\.25\.7\.3 to restore\)$/m);
  t.deepEqual(d.drained.at(-1), ['172.25.7.3']);

  // The open connection ends while ctl waits.
  const waiting = ctlRun(first.url, ['drain', '172.25.7.3', '--wait']);
  setTimeout(() => d.set(answer({ weight: 0, active: 0, drained: true })), 1500);
  const done = await waiting;
  t.is(done.code, EXIT.ok, done.stderr);
  t.regex(done.stdout, /^already drained: 172\.25\.7\.3/m);
  t.regex(done.stdout, /^172\.25\.7\.3: no active connection left/m);
  t.is((await api(first.ctl, 'POST', '/api/drain', { host: 'server9' })).statusCode, 404, 'an unknown agent name is refused');
  t.is((await api(first.ctl, 'POST', '/api/drain', { host: 'x', extra: 1 })).statusCode, 400);
  await first.ctl.close();

  // The store is the source of truth: a restarted controller sends the drained set at connect.
  const second = await controller(t, dir);
  t.teardown(() => second.ctl.close());
  const again = director(t, second.url);
  await again.connected;
  await waitFor('drained set after restart', async () => (again.drained.length ? true : undefined), 5000, 20);
  t.deepEqual(again.drained, [['172.25.7.3']]);
  t.deepEqual(((await api(second.ctl, 'GET', '/api/drain')).json() as { host: string }[]).map((x) => x.host), ['172.25.7.3']);

  const undrain = await ctlRun(second.url, ['undrain', '172.25.7.3']);
  t.is(undrain.code, EXIT.ok, undrain.stderr);
  t.regex(undrain.stdout, /^undrained: 172\.25\.7\.3 \(172\.25\.7\.3\); sent to server2$/m);
  await waitFor('empty drained set', async () => (again.drained.length === 2 ? true : undefined), 5000, 20);
  t.deepEqual(again.drained.at(-1), []);
  t.regex((await ctlRun(second.url, ['undrain', '172.25.7.3'])).stdout, /was not drained/);
});
