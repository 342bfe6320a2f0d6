#!/usr/bin/env node
import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { exec } from '../common/exec.js';
import { createLogger, parseLogLevel } from '../common/log.js';
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from '../common/protocol.js';
import { Agent } from './agent.js';
import { DEFAULT_STATE_DIR } from './drift-agent.js';

const USAGE = 'usage: agent --controller URL --token TOKEN --name NAME [--root DIR] [--state DIR] [--heartbeat SECONDS] [--drift-interval SECONDS] [--log-level LEVEL]';

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
        state: { type: 'string', default: DEFAULT_STATE_DIR },
        heartbeat: { type: 'string', default: '5' },
        'drift-interval': { type: 'string', default: '5' },
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
const heartbeatMs = Math.max(1, Number(values.heartbeat)) * 1000;
const driftInterval = Number(values['drift-interval']);
if (!(driftInterval >= 0)) fail(`--drift-interval '${values['drift-interval']}' must be a number of seconds (0 turns the watch off)`);
const stateDir = path.resolve(values.state!);
const controller = values.controller!;
const token = values.token!;

const log = createLogger({ level, name: 'agent' }).child({ agent: name });

const agent = new Agent({
  name,
  root,
  exec,
  log,
  heartbeatMs,
  stateDir,
  driftIntervalMs: driftInterval * 1000,
  connect: (): Socket<ServerToClientEvents, ClientToServerEvents> =>
    io(controller, {
      auth: { token, name, protocol: PROTOCOL_VERSION, heartbeatMs },
      autoConnect: false,
      // socket.io-client's backoff is exponential with +-50% jitter, so a restarted controller is
      // not hit by every agent in the same instant.
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      transports: ['websocket'],
    }),
});
log.info({ controller, root, state: stateDir, driftIntervalS: driftInterval }, 'agent starting');
agent.start();

// The socket keeps the process alive; these make SIGTERM a clean exit.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    void agent.stop().finally(() => process.exit(0));
  });
}
