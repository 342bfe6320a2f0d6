#!/usr/bin/env node
import { parseArgs } from 'node:util';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { exec } from '../common/exec.js';
import { PROTOCOL_VERSION, type ClientToServerEvents, type HostFacts, type RunJob, type ServerToClientEvents } from '../common/protocol.js';
import { gatherFacts, health } from './facts.js';
import { KernelState } from './kstate/kernel-state.js';
import { MODULES } from './modules/index.js';
import { runTasks } from './runner.js';

const USAGE = 'usage: agent --controller URL --token TOKEN --name NAME [--root DIR] [--heartbeat SECONDS]';

function fail(msg: string): never {
  process.stderr.write(`agent: ${msg}\n${USAGE}\n`);
  process.exit(5);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        controller: { type: 'string', default: process.env.LVSCTL_URL },
        token: { type: 'string', default: process.env.LVSCTL_TOKEN },
        name: { type: 'string' },
        root: { type: 'string', default: '/' },
        heartbeat: { type: 'string', default: '5' },
      },
    });
  } catch (e) {
    return fail((e as Error).message);
  }
})();

if (!values.controller) fail('--controller is required');
if (!values.token) fail('--token is required (or LVSCTL_TOKEN)');
const name = values.name ?? (await import('node:os')).hostname();
if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail(`--name '${name}' must be letters, digits, _ . -`);
const root = path.resolve(values.root!);
const heartbeatMs = Math.max(1, Number(values.heartbeat)) * 1000;

const log = (msg: string): void => void process.stdout.write(`${new Date().toISOString()} ${name} ${msg}\n`);

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(values.controller!, {
  auth: { token: values.token, name, protocol: PROTOCOL_VERSION },
  // socket.io-client's backoff is exponential with +-50% jitter, so a restarted controller is
  // not hit by every agent in the same instant.
  reconnectionDelay: 500,
  reconnectionDelayMax: 10_000,
  randomizationFactor: 0.5,
  transports: ['websocket'],
});

let facts: HostFacts | undefined;
let busy = 0;
let queue: Promise<void> = Promise.resolve();

socket.on('connect', async () => {
  log(`connected to ${values.controller}`);
  // Fresh facts at every (re)connect: addresses and packages may have changed meanwhile.
  facts = await gatherFacts(name, root);
  socket.emit('facts', facts);
  socket.emit('heartbeat', health(busy));
});
socket.on('disconnect', (reason) => log(`disconnected: ${reason}`));
socket.on('connect_error', (err) => {
  log(`cannot connect: ${err.message}`);
  // The hub refuses a bad token in its middleware; socket.io does not retry those by itself.
  if (!socket.active) setTimeout(() => socket.connect(), 2000 + Math.random() * 3000);
});

// One run at a time on a host; the controller also serialises, this is the agent's own guard.
socket.on('run:start', (job: RunJob) => {
  queue = queue.then(() => runJob(job)).catch((e) => log(`run ${job.runId} crashed: ${(e as Error).stack}`));
});

async function runJob(job: RunJob): Promise<void> {
  const started = performance.now();
  busy = 1;
  log(`run ${job.runId}: ${job.tasks.length} tasks${job.check ? ' (check)' : ''}`);
  try {
    facts ??= await gatherFacts(name, root);
    const ctx = { root, check: job.check, exec, facts, kernel: new KernelState({ exec }) };
    await runTasks(job.tasks, MODULES, ctx, { check: job.check, diff: job.diff }, (r) => socket.emit('task:result', job.runId, r));
    socket.emit('run:end', { runId: job.runId, host: name, ms: performance.now() - started });
  } catch (e) {
    socket.emit('run:end', { runId: job.runId, host: name, ms: performance.now() - started, error: (e as Error).message });
  } finally {
    busy = 0;
  }
}

setInterval(() => {
  if (socket.connected) socket.emit('heartbeat', health(busy));
}, heartbeatMs).unref();
// The socket keeps the process alive; these make SIGTERM a clean exit.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    socket.close();
    process.exit(0);
  });
}
