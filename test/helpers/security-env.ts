import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
import { exec, type ExecResult } from '../../common/exec.js';
import { initController } from '../../controller/pki/init.js';
import { Pki } from '../../controller/pki/pki.js';
import { AGENT, CTL, Procs, waitFor } from './procs.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A pino JSON line of a process's output. */
export type Line = Record<string, unknown> & { msg: string };

export function lines(text: string): Line[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/**
 * The security test's project: roles that write under the agent's root, one that waits at a
 * gate the test opens (the `package` module's dpkg-query is a stand-in on the agents' PATH),
 * roles whose file tasks go through symlinks, and one whose defaults carry a template escape.
 */
export function writeProject(dir: string, payload: string): void {
  const role = (name: string, tasks: string, defaults?: string) => {
    mkdirSync(path.join(dir, 'roles', name), { recursive: true });
    writeFileSync(path.join(dir, 'roles', name, 'tasks.yml'), tasks);
    if (defaults) writeFileSync(path.join(dir, 'roles', name, 'defaults.yml'), defaults);
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'inventory.ini'), '[lvs]\nserver2\nserver3\nserver4\n');
  role('note', '- name: note\n  file:\n    path: /etc/note\n    content: "{{ inventory_hostname }} {{ p | default(\'\') }}\\n"\n');
  role('gate', '- name: wait at the gate\n  package:\n    name: lvsctl-gate\n    provider: apt\n- name: passed\n  file:\n    path: /etc/gate-passed\n    content: "{{ inventory_hostname }}\\n"\n');
  role('evil', '- name: uses the default\n  file:\n    path: /etc/evil\n    content: "{{ evil }}\\n"\n', `evil: ${JSON.stringify(payload)}\n`);
  role('escape-write', '- name: write through a folder link\n  file:\n    path: /etc/linkdir/planted\n    content: "planted\\n"\n');
  role('escape-delete', '- name: delete through a folder link\n  file:\n    path: /etc/linkdir/victim\n    state: absent\n');
  role('escape-chmod', '- name: chmod through a file link\n  file:\n    path: /etc/linkfile\n    mode: "0777"\n');
  role('escape-diff', '- name: diff through a file link\n  file:\n    path: /etc/linkfile\n    content: "replaced\\n"\n');
}

/** The stand-in for dpkg-query: says it started, waits for the gate, reports the package installed. */
export function writeGateBin(bin: string, gate: string): void {
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, 'dpkg-query'),
    `#!/bin/sh\ncase "$*" in *lvsctl-gate*) ;; *) exec /usr/bin/dpkg-query "$@" ;; esac\ntouch "${gate}/started-$GATE_HOST"\nwhile [ ! -f "${gate}/open" ]; do sleep 0.1; done\nprintf 'lvsctl-gate\\tinstall ok installed\\t1.0\\n'\n`,
    { mode: 0o755 },
  );
}

/** An agent identity a test hands to socket.io-client or copies into an agent's state folder. */
export interface Identity {
  ca: string;
  cert: string;
  key: string;
}

export function writeState(dir: string, id: Identity): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'agent.key'), id.key, { mode: 0o600 });
  writeFileSync(path.join(dir, 'agent.crt'), id.cert);
  writeFileSync(path.join(dir, 'ca.crt'), id.ca);
}

export function copyState(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

export function fingerprintOf(caFile: string): string {
  return new X509Certificate(readFileSync(caFile)).fingerprint256;
}

/** A controller of another CA on loopback: records every handshake and request it gets, pushes a task to anyone who connects. */
export async function rogueController(dir: string, task: { path: string }) {
  await initController(dir, ['127.0.0.1']);
  const pki = await Pki.open(dir);
  const seen = { tlsErrors: 0, requests: [] as string[], handshakes: [] as unknown[], sent: 0 };
  const server = https.createServer(pki.serverTlsOptions(), (req, res) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => {
      seen.requests.push(`${req.method} ${req.url} ${body}`);
      res.end('{}');
    });
  });
  server.on('tlsClientError', () => seen.tlsErrors++);
  const io = new Server(server, { serveClient: false });
  io.use((socket, next) => {
    seen.handshakes.push(socket.handshake.auth);
    next();
  });
  io.on('connection', (socket) => {
    seen.sent++;
    socket.emit('run:start', { runId: 'rogue', host: 'any', check: false, diff: false, tasks: [{ name: 'rogue', module: 'file', args: { path: task.path, content: 'rogue\n' } }] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => io.close(() => r())) };
}

/** `ctl ...` against the test's controller, with its CA and a token file: no secret in argv. */
export function ctlAt(url: string, caFile: string, tokenFile: string, cwd: string) {
  return (args: string[]): Promise<ExecResult> =>
    exec(process.execPath, [CTL, ...args, '--controller', url, '--ca', caFile, '--token-file', tokenFile], { cwd, env: { ...process.env, NO_COLOR: '1', LVSCTL_TOKEN: '', LVSCTL_LAB_DIR: path.join(cwd, 'no-lab') } });
}

export function startAgent(procs: Procs, name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return procs.start(name, process.execPath, [AGENT, ...args, '--heartbeat', '1'], env);
}

/** Waits for a JSON log line of a process matching `pred`. */
export function logged(procs: Procs, name: string, pred: (l: Line) => boolean, what: string, timeoutMs = 30_000): Promise<Line> {
  return waitFor(`${name}: ${what}`, async () => lines(procs.log(name)).find(pred), timeoutMs, 50);
}
