import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../common/exec.js';
import { CtlError } from '../common/errors.js';
import { writePrivateFileAtomic } from '../common/private-file.js';
import type { LabPaths } from './paths.js';
import { isAlive, isOurProcess, readPid, sleep, stopProcess } from './procs.js';
import { lastLine } from './packages.js';
import { labApi } from './lab-api.js';
import { labToken } from './state.js';

export interface AgentInfo {
  name: string;
  online: boolean;
  facts?: { os?: { kernel?: string } } & Record<string, unknown>;
  lastHeartbeat?: string | number | null;
}

export type Probe = { kind: 'ours'; agents: AgentInfo[] } | { kind: 'other'; status: number } | { kind: 'none' };

/**
 * Asks 127.0.0.1:PORT for its agents over TLS with the lab's token and CA. A server whose
 * certificate the lab's CA did not sign, or that speaks no TLS, is another service ('other').
 */
export async function probeController(port: number, token: string, ca: string, timeoutMs = 3000): Promise<Probe> {
  if (!ca) return { kind: 'none' };
  try {
    const res = await labApi(port, token, ca, 'GET', '/api/agents', undefined, timeoutMs);
    if (res.status !== 200) return { kind: 'other', status: res.status };
    return { kind: 'ours', agents: Array.isArray(res.json) ? (res.json as AgentInfo[]) : [] };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    return /CERT|SIGNATURE|ISSUER|ALTNAME|EPROTO|WRONG_VERSION/.test(code) ? { kind: 'other', status: 0 } : { kind: 'none' };
  }
}

/**
 * The lab controller's data folder with a CA (`ctl controller init`, names the guest dials it
 * by: 10.0.2.2 through slirp) and the lab's admin token in the lab folder. A folder with a CA
 * whose token file went missing gets a new token (`ctl controller token create --data`).
 */
export async function initLabController(p: LabPaths): Promise<string> {
  const script = controllerScript(p);
  if (!existsSync(script)) throw new CtlError('CTL_ERR_LAB', `${script} is missing: build the project first (npm run build)`);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(p.caFile)) {
    const r = await exec(process.execPath, [script, 'controller', 'init', '--data', p.controllerData, '--san', '127.0.0.1', '--san', 'localhost', '--san', '10.0.2.2', '--admin-token-file', p.tokenFile]);
    if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `cannot initialise the lab controller: ${lastLine(r.stderr || r.stdout)}`);
  } else if (!labToken(p)) {
    const r = await exec(process.execPath, [script, 'controller', 'token', 'create', `lab-${Date.now()}`, '--data', p.controllerData, '--json']);
    if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `cannot make an API token for the lab: ${lastLine(r.stderr || r.stdout)}`);
    await writePrivateFileAtomic(p.tokenFile, (JSON.parse(r.stdout) as { token: string }).token + '\n');
  }
  return labToken(p);
}

export function controllerScript(p: LabPaths): string {
  return join(p.repo, 'bin', 'ctl.js');
}

export function controllerMarks(p: LabPaths): string[] {
  return [controllerScript(p), 'controller', p.controllerData];
}

export function controllerPid(p: LabPaths): number | undefined {
  const pid = readPid(p.controllerPidFile);
  return pid && isOurProcess(pid, controllerMarks(p)) ? pid : undefined;
}

/**
 * Starts `ctl controller start` for the lab in the background (start-stop-daemon, so it
 * outlives `ctl lab up`), listening on 127.0.0.1 only, and waits until it answers.
 */
export async function startController(p: LabPaths, port: number, token: string, ca: string): Promise<number> {
  const script = controllerScript(p);
  if (!existsSync(script)) throw new CtlError('CTL_ERR_LAB', `${script} is missing: build the project first (npm run build)`);
  mkdirSync(p.controllerData, { recursive: true, mode: 0o700 });
  mkdirSync(p.runDir, { recursive: true });
  rmSync(p.controllerPidFile, { force: true });
  const r = await exec('start-stop-daemon', [
    '--start', '--background', '--make-pidfile', '--pidfile', p.controllerPidFile,
    '--output', p.controllerLog, '--chdir', p.repo,
    '--exec', process.execPath, '--',
    script, 'controller', 'start', '--data', p.controllerData, '--port', String(port), '--listen', '127.0.0.1',
  ]);
  if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `cannot start the controller: ${lastLine(r.stderr || r.stdout)}`);
  const until = Date.now() + 60_000;
  for (;;) {
    const pid = readPid(p.controllerPidFile);
    const probe = await probeController(port, token, ca);
    if (probe.kind === 'ours' && pid) return pid;
    if (probe.kind === 'other') {
      if (pid) await stopProcess(pid, controllerMarks(p), 5000);
      throw new CtlError('CTL_ERR_LAB', `127.0.0.1:${port} answers ${probe.status ? `HTTP ${probe.status}` : 'without the lab\'s TLS certificate'} to the lab's token: another service owns the port; use --port`);
    }
    // start-stop-daemon --background writes the pid file from its child, before that child
    // execs node and possibly after the parent returned: a missing pid file, or a live process
    // not yet showing our command line, is a wait. Only a dead process or the deadline fail.
    if ((pid && !isAlive(pid)) || Date.now() > until) {
      if (pid) await stopProcess(pid, controllerMarks(p), 5000);
      throw new CtlError('CTL_ERR_LAB', `the controller did not come up on 127.0.0.1:${port}: ${controllerLogTail(p)}`);
    }
    await sleep(300);
  }
}

export function controllerLogTail(p: LabPaths, n = 3): string {
  try {
    return readFileSync(p.controllerLog, 'utf8').trim().split('\n').slice(-n).join(' | ') || '(empty log)';
  } catch {
    return '(no log)';
  }
}

export async function stopController(p: LabPaths, pid: number | undefined = controllerPid(p)): Promise<void> {
  if (pid) await stopProcess(pid, controllerMarks(p), 10_000);
  rmSync(p.controllerPidFile, { force: true });
}
