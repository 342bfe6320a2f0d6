#!/usr/bin/env node
import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { exec } from '../common/exec.js';
import { createLogger, parseLogLevel } from '../common/log.js';
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from '../common/protocol.js';
import { Agent } from './agent.js';
import { HealthAgent } from './health-agent.js';

const USAGE = 'usage: agent --controller URL --token TOKEN --name NAME [--root DIR] [--state DIR] [--heartbeat SECONDS] [--log-level LEVEL]';

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
        state: { type: 'string' },
        heartbeat: { type: 'string', default: '5' },
        'log-level': { type: 'string', default: 'info' },
      },
    });
  } catch (e) {
    return fail((e as Error).message);
  }
})();

if (!values.controller) fail('--controller is required');
if (!values.token) fail('--token is required (or LVSCTL_TOKEN)');
const name = values.name ?? os.hostname();
if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail(`--name '${name}' must be letters, digits, _ . -`);
const level = (() => {
  try {
    return parseLogLevel(values['log-level']);
  } catch (e) {
    return fail(`--log-level: ${(e as Error).message}`);
  }
})();
const root = path.resolve(values.root!);
// The agent's own files (health checks, their states); under --root when one is given, so that
// agents sharing a machine (the lab) keep theirs apart.
const stateDir = path.resolve(values.state ?? path.join(root, 'var/lib/lvsctl-agent'));
const heartbeatMs = Math.max(1, Number(values.heartbeat)) * 1000;
const controller = values.controller!;
const token = values.token!;

const log = createLogger({ level, name: 'agent' }).child({ agent: name });

const healthChecks = new HealthAgent({ stateDir, exec, log: log.child({ component: 'health' }) });
const agent = new Agent({
  name,
  healthChecks,
  root,
  exec,
  log,
  heartbeatMs,
  connect: (): Socket<ServerToClientEvents, ClientToServerEvents> =>
    io(controller, {
      auth: { token, name, protocol: PROTOCOL_VERSION },
      autoConnect: false,
      // socket.io-client's backoff is exponential with +-50% jitter, so a restarted controller is
      // not hit by every agent in the same instant.
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      transports: ['websocket'],
    }),
});
log.info({ controller, root, stateDir }, 'agent starting');
// Checks run from the saved state before (and without) any controller.
await healthChecks.restore();
healthChecks.start();
agent.start();

// The socket keeps the process alive; these make SIGTERM a clean exit once the health
// checker's apply or state write in flight has ended.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    agent.stop();
    // Bounded: an apply waiting behind a long run in the job queue must not hold the exit.
    const bound = new Promise((resolve) => setTimeout(resolve, 5000).unref());
    void Promise.race([healthChecks.stop(), bound]).finally(() => process.exit(0));
  });
}
