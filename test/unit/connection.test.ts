import test from 'ava';
import { EventEmitter } from 'node:events';
import { Backoff, Connection, DEFINITIVE_BACKOFF, REFUSED_BACKOFF, type AgentSocket } from '../../agent/connection.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { captureLog } from '../helpers/log-capture.js';

/** The agent's socket as the controller treats it: refused with a reason, or closed by the server. */
class Socket extends EventEmitter implements AgentSocket {
  connected = false;
  active = true;
  connects = 0;
  override emit(): boolean {
    return true;
  }
  connect(): this {
    this.connects++;
    return this;
  }
  close(): this {
    return this;
  }
  receive(event: string, ...args: unknown[]): void {
    super.emit(event, ...args);
  }
  refuse(reason: string, data?: unknown): void {
    this.active = false;
    this.receive('connect_error', Object.assign(new Error(reason), data ? { data } : {}));
  }
}

function setup() {
  const socket = new Socket();
  const timers = new FakeTimers();
  const { log, lines } = captureLog('info');
  const conn = new Connection(socket, timers, new Backoff(REFUSED_BACKOFF, () => 0), log, { connected: () => {}, disconnected: () => {} }, new Backoff(DEFINITIVE_BACKOFF, () => 0));
  return { socket, timers, lines, conn };
}

test('a definitive refusal (revoked, rejected) backs off to minutes and says why; others stay at seconds', async (t) => {
  const { socket, timers, lines, conn } = setup();
  socket.refuse('certificate 4a of server3 is revoked', { refusal: 'revoked', definitive: true });
  const delays = [timers.pendingTimeouts()[0]!];
  for (let i = 0; i < 5; i++) {
    await timers.advance(delays.at(-1)!);
    socket.refuse('certificate 4a of server3 is revoked', { refusal: 'revoked', definitive: true });
    delays.push(timers.pendingTimeouts()[0]!);
  }
  t.deepEqual(delays, [60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000], 'doubling from a minute, capped at 30 minutes');
  const said = lines.filter((l) => l.level === 50);
  t.is(said.length, 6);
  t.like(said[0], { reason: 'certificate 4a of server3 is revoked', refusal: 'revoked', retryInMs: 60_000 });

  socket.refuse('unauthorized: bad token');
  t.is(timers.pendingTimeouts()[0], REFUSED_BACKOFF.baseMs, 'a refusal that may pass is retried in seconds');
  conn.close();
});

test('a connection the controller closed (a revocation) is asked for again, not left closed', async (t) => {
  const { socket, timers, conn } = setup();
  socket.receive('connect');
  socket.receive('disconnect', 'io server disconnect');
  t.is(timers.pendingTimeouts().length, 1, 'socket.io would not reconnect by itself');
  await timers.advance(timers.pendingTimeouts()[0]!);
  t.is(socket.connects, 1);
  socket.receive('disconnect', 'transport close');
  t.deepEqual(timers.pendingTimeouts(), [], 'a lost transport is socket.io\'s own to retry');
  conn.close();
});
