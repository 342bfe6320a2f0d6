import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { checkSchema, type Check } from '../../agent/health/schema.js';
import { runCheck } from '../../agent/health/checks/index.js';
import { socketReason } from '../../agent/health/checks/reasons.js';
import { BODY_LIMIT } from '../../agent/health/checks/http.js';
import type { CheckTarget } from '../../agent/health/types.js';
import { Procs } from '../helpers/procs.js';

/**
 * The checkers against real servers on loopback: a node HTTP server with healthy, failing,
 * slow and oversized answers, a closed port, a listener that never accepts, real processes.
 */

const seen: { path?: string; host?: string; remote?: string }[] = [];
const endless = new Set<NodeJS.Timeout>();
const web = http.createServer((req, res) => {
  seen.push({ path: req.url, host: req.headers.host, remote: req.socket.remoteAddress });
  switch (new URL(req.url ?? '/', 'http://x').pathname) {
    case '/ok':
      return res.end('service ready\n');
    case '/503':
      res.writeHead(503);
      return res.end('maintenance\n');
    case '/moved':
      res.writeHead(301, { location: '/ok' });
      return res.end();
    case '/big':
      res.writeHead(200);
      res.write('a'.repeat(BODY_LIMIT + 1024));
      return res.end('MARKER');
    case '/endless': {
      res.writeHead(200);
      const t = setInterval(() => res.write('b'.repeat(16 * 1024)), 1);
      endless.add(t);
      return res.on('close', () => (clearInterval(t), endless.delete(t)));
    }
    case '/stall-body':
      res.writeHead(200);
      return res.write('partial');
    case '/slow':
      return; // never answers
    default:
      res.writeHead(404);
      return res.end();
  }
});
// resume(): the request is read and dropped, so the socket sees the client's FIN and closes
const garbage = net.createServer((s) => s.resume().end('this is not HTTP\r\n\r\n'));
const procs = new Procs();
let webPort = 0;
let garbagePort = 0;
let closedPort = 0;

const listen = (s: net.Server) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));

test.before(async () => {
  webPort = await listen(web);
  garbagePort = await listen(garbage);
  const tmp = net.createServer();
  closedPort = await listen(tmp);
  await new Promise((r) => tmp.close(r));
});

test.after.always(async () => {
  for (const t of endless) clearInterval(t);
  web.closeAllConnections();
  await new Promise((r) => web.close(r));
  await new Promise((r) => garbage.close(r));
  await procs.stopAll();
});

const target = (port: number): CheckTarget => ({ address: '127.0.0.1', port, protocol: 'tcp', vip: '172.25.7.200', vport: 80 });
const check = (c: Record<string, unknown>): Check => checkSchema.parse(c);
const http1 = (c: Record<string, unknown>) => runCheck(check({ type: 'http', ...c }), target(webPort));

test('http: 200 passes, 503 fails as "HTTP 503", 404 is outside the default 200-399', async (t) => {
  t.deepEqual(await http1({ path: '/ok' }), { ok: true, detail: 'HTTP 200' });
  t.deepEqual(await http1({ path: '/503' }), { ok: false, reason: 'HTTP 503' });
  t.deepEqual(await http1({ path: '/nothing' }), { ok: false, reason: 'HTTP 404' });
  t.deepEqual(await http1({ path: '/moved', status: 200 }), { ok: false, reason: 'HTTP 301' });
  t.deepEqual(await http1({ path: '/moved', status: [200, 301] }), { ok: true, detail: 'HTTP 301' });
});

test('http: the Host header and the path are sent as declared', async (t) => {
  t.deepEqual(await http1({ path: '/ok?probe=1', host: 'www.example.com' }), { ok: true, detail: 'HTTP 200' });
  t.like(seen.find((s) => s.path === '/ok?probe=1'), { host: 'www.example.com' });
});

test('http: expected body text', async (t) => {
  t.deepEqual(await http1({ path: '/ok', expect: 'ready' }), { ok: true, detail: 'HTTP 200' });
  t.deepEqual(await http1({ path: '/ok', expect: 'x' }), { ok: false, reason: "body does not contain 'x'" });
});

test('http: no more than 64 KiB of a body is read', async (t) => {
  t.deepEqual(await http1({ path: '/big', expect: 'MARKER' }), { ok: false, reason: "body does not contain 'MARKER'" });
  // a body that never ends is judged on its first 64 KiB, not left to the timeout
  t.deepEqual(await http1({ path: '/endless', interval: 5, timeout: 5 }), { ok: true, detail: 'HTTP 200' });
});

test('http: the timeout covers the answer and the body', async (t) => {
  t.deepEqual(await http1({ path: '/slow', timeout: 0.5 }), { ok: false, reason: 'timeout 0.5 s' });
  t.deepEqual(await http1({ path: '/stall-body', timeout: 0.5 }), { ok: false, reason: 'timeout 0.5 s' });
});

test('http: a closed port is "connect refused", a non-HTTP answer "bad HTTP response"', async (t) => {
  t.deepEqual(await runCheck(check({ type: 'http' }), target(closedPort)), { ok: false, reason: 'connect refused' });
  t.deepEqual(await runCheck(check({ type: 'http' }), target(garbagePort)), { ok: false, reason: 'bad HTTP response' });
  t.deepEqual(await runCheck(check({ type: 'http', port: webPort, path: '/ok' }), target(closedPort)), { ok: true, detail: 'HTTP 200' }, 'port overrides the real server port');
});

test('http and tcp: the check leaves from the declared source address', async (t) => {
  t.deepEqual(await http1({ path: '/ok?from=2', source: '127.0.0.2' }), { ok: true, detail: 'HTTP 200' });
  t.like(seen.find((s) => s.path === '/ok?from=2'), { remote: '127.0.0.2' });
});

test('tcp: connect passes, a closed port is "connect refused"', async (t) => {
  t.deepEqual(await runCheck(check({ type: 'tcp' }), target(webPort)), { ok: true, detail: 'connected' });
  t.deepEqual(await runCheck(check({ type: 'tcp' }), target(closedPort)), { ok: false, reason: 'connect refused' });
  t.deepEqual(await runCheck(check({ type: 'tcp', port: webPort }), target(closedPort)), { ok: true, detail: 'connected' });
});

test('tcp: a listener that never accepts (full backlog, SYNs dropped) is "timeout N s"', async (t) => {
  // Another process, frozen after listen() with a backlog of 1: the kernel completes two
  // connections into its accept queue, then drops SYNs, like a server that stopped answering.
  const child = procs.start('frozen', process.execPath, [
    '-e',
    "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})",
  ]);
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  const fill: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = net.connect(port, '127.0.0.1');
    fill.push(s);
    await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
  }
  try {
    t.deepEqual(await runCheck(check({ type: 'tcp', timeout: 0.5 }), target(port)), { ok: false, reason: 'timeout 0.5 s' });
  } finally {
    for (const s of fill) s.destroy();
    await procs.kill('frozen'); // SIGKILL: a process blocked in Atomics.wait runs no signal handler
  }
});

test('socket errors are worded as operators read them', (t) => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  t.is(socketReason(err('EHOSTUNREACH')), 'host unreachable');
  t.is(socketReason(err('ECONNREFUSED')), 'connect refused');
  t.is(socketReason(err('ENETUNREACH')), 'network unreachable');
  t.is(socketReason(err('HPE_INVALID_CONSTANT')), 'bad HTTP response');
  t.is(socketReason(err('EWHATEVER')), 'error EWHATEVER');
});

// Generous timeouts: node may take seconds to start on a loaded machine, and only the timeout test is about timing.
const execCheck = (argv: string[], more: Record<string, unknown> = {}) =>
  runCheck(check({ type: 'exec', argv, interval: 30, timeout: 30, ...more }), target(8080));

test('exec: exit 0 passes, any other exit fails as "exit N"; no shell', async (t) => {
  t.deepEqual(await execCheck(['/bin/true']), { ok: true, detail: 'exit 0' });
  t.deepEqual(await execCheck(['/bin/false']), { ok: false, reason: 'exit 1' });
  t.deepEqual(await execCheck([process.execPath, '-e', 'process.exit(2)']), { ok: false, reason: 'exit 2' });
  t.deepEqual(await execCheck(['/nonexistent/check']), { ok: false, reason: 'not found: /nonexistent/check' });
  // a shell would expand this; exec passes it as one argument
  t.deepEqual(await execCheck([process.execPath, '-e', 'process.exit(process.argv[1] === "$HOME;exit 3" ? 0 : 4)', '$HOME;exit 3']), { ok: true, detail: 'exit 0' });
});

test('exec: the real server and the service are in the environment, nothing of the agent is', async (t) => {
  process.env.LVSCTL_TOKEN = 'secret-for-the-test';
  try {
    const script = [
      'const e = process.env;',
      'const want = { LVS_RS_ADDR: "127.0.0.1", LVS_RS_PORT: "8080", LVS_VIP: "172.25.7.200", LVS_VPORT: "80", LVS_PROTOCOL: "tcp" };',
      'for (const [k, v] of Object.entries(want)) if (e[k] !== v) process.exit(3);',
      'process.exit(e.LVSCTL_TOKEN === undefined ? 0 : 4);',
    ].join('\n');
    t.deepEqual(await execCheck([process.execPath, '-e', script]), { ok: true, detail: 'exit 0' });
  } finally {
    delete process.env.LVSCTL_TOKEN;
  }
});

test('exec: the timeout kills the script and what it started', async (t) => {
  const script = [
    "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
    "process.stdout.write(String(c.pid)); setInterval(() => {}, 1000);",
  ].join('\n');
  t.deepEqual(await execCheck([process.execPath, '-e', script], { timeout: 0.5 }), { ok: false, reason: 'timeout 0.5 s' });
});

test('none: always passes, nothing is probed', async (t) => {
  t.deepEqual(await runCheck({ type: 'none' }, target(closedPort)), { ok: true, detail: 'no check' });
});
