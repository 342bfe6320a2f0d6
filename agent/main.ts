#!/usr/bin/env node
import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { exec } from '../common/exec.js';
import { createLogger, parseLogLevel } from '../common/log.js';
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from '../common/protocol.js';
import { Agent } from './agent.js';
import { tlsClientOptions } from './identity.js';
import { CertRenewal } from './renew.js';
import { agentTrust, socketAuth, TrustUsageError } from './trust-setup.js';
import { ensureStateDir, resolveStateDir } from './state-dir.js';

const USAGE =
  'usage: agent --controller https://HOST:PORT [--name NAME] [--state DIR] [--ca-fingerprint SHA256 | --ca FILE] [--enroll-token-file FILE]\n' +
  '             [--root DIR] [--heartbeat SECONDS] [--drift-interval SECONDS] [--log-level LEVEL]\n' +
  '       agent --controller http://HOST:PORT --insecure [--token-file FILE] ...   (dev controller; token also from LVSCTL_TOKEN)';
import { HealthAgent } from './health-agent.js';

function fail(msg: string): never {
  process.stderr.write(`agent: ${msg}\n${USAGE}\n`);
  process.exit(5);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        controller: { type: 'string', default: process.env.LVSCTL_URL },
        name: { type: 'string' },
        root: { type: 'string', default: '/' },
        state: { type: 'string', default: process.env.LVSCTL_AGENT_STATE },
        'enroll-token-file': { type: 'string' },
        'ca-fingerprint': { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        'token-file': { type: 'string' },
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
if (values.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(values.name)) fail(`--name '${values.name}' must be letters, digits, _ . -`);
const level = (() => {
  try {
    return parseLogLevel(values['log-level']);
  } catch (e) {
    return fail(`--log-level: ${(e as Error).message}`);
  }
})();
const root = path.resolve(values.root!);
const stateDir = resolveStateDir(values.state, root);
try {
  ensureStateDir(stateDir);
} catch (e) {
  fail(`--state: cannot use ${stateDir}: ${(e as Error).message}`);
}
const heartbeatMs = Math.max(1, Number(values.heartbeat)) * 1000;
const driftInterval = Number(values['drift-interval']);
if (!(driftInterval >= 0)) fail(`--drift-interval '${values['drift-interval']}' must be a number of seconds (0 turns the watch off)`);
const controller = values.controller!;

const baseLog = createLogger({ level, name: 'agent' });
const trust = await agentTrust(
  {
    controller,
    name: values.name,
    defaultName: os.hostname(),
    stateDir,
    insecure: values.insecure!,
    ...(values['enroll-token-file'] ? { enrollTokenFile: values['enroll-token-file'] } : {}),
    ...(values['ca-fingerprint'] ? { caFingerprint: values['ca-fingerprint'] } : {}),
    ...(values.ca ? { caFile: values.ca } : {}),
    ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}),
  },
  baseLog.child({ agent: values.name ?? os.hostname() }),
).catch((e: Error) => (e instanceof TrustUsageError ? fail(e.message) : fail(`${e.message}`)));
const name = trust.name;
const withHeartbeat = <T extends { auth: object }>(o: T, ms: number): T => ({ ...o, auth: { ...o.auth, heartbeatMs: ms } });
const log = baseLog.child({ agent: name });

let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
const healthChecks = new HealthAgent({ stateDir, exec, log: log.child({ component: 'health' }) });
const agent = new Agent({
  name,
  healthChecks,
  root,
  exec,
  log,
  heartbeatMs,
  stateDir,
  driftIntervalMs: driftInterval * 1000,
  connect: (): Socket<ServerToClientEvents, ClientToServerEvents> =>
    (socket = io(controller, {
      // The heartbeat interval goes with the handshake: the controller counts missed heartbeats by it.
      ...withHeartbeat(socketAuth(trust, PROTOCOL_VERSION), heartbeatMs),
      autoConnect: false,
      // socket.io-client's backoff is exponential with +-50% jitter, so a restarted controller is
      // not hit by every agent in the same instant.
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      transports: ['websocket'],
    })),
});
const renewal =
  trust.kind === 'tls'
    ? new CertRenewal({
        controller,
        stateDir,
        log,
        // The next (re)connection presents the new certificate; the old one stays valid until it expires.
        onRenewed: (id) => socket && Object.assign(socket.io.opts, tlsClientOptions(id)),
      })
    : undefined;
log.info({ controller, root, ...(trust.kind === 'tls' ? { stateDir } : { insecure: true }) }, 'agent starting');
// Checks run from the saved state before (and without) any controller.
await healthChecks.restore();
healthChecks.start();
agent.start();
renewal?.start();

// The socket keeps the process alive; these make SIGTERM a clean exit once the health
// checker's apply or state write in flight has ended.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    renewal?.stop();
    // The job journal's last lines are written before the process goes; bounded, since a
    // health apply waiting behind a long run in the job queue must not hold the exit.
    const bound = new Promise((resolve) => setTimeout(resolve, 5000).unref());
    void Promise.race([Promise.all([agent.stop(), healthChecks.stop()]), bound]).finally(() => process.exit(0));
  });
}
