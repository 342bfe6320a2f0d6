import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../common/exec.js';
import { CtlError } from '../common/errors.js';
import type { LabPaths } from './paths.js';
import { isAlive, isOurProcess, readPid, sleep, stopProcess } from './procs.js';
import { lastLine } from './packages.js';
import { controllerUrl } from './state.js';

export interface AgentInfo {
  name: string;
  online: boolean;
  facts?: { os?: { kernel?: string } } & Record<string, unknown>;
  lastHeartbeat?: string | number | null;
}

export type Probe = { kind: 'ours'; agents: AgentInfo[] } | { kind: 'other'; status: number } | { kind: 'none' };

/** Asks 127.0.0.1:PORT for its agents with the lab's token. */
export async function probeController(port: number, token: string, timeoutMs = 3000): Promise<Probe> {
  try {
    const res = await fetch(`${controllerUrl(port)}/api/agents`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) return { kind: 'other', status: res.status };
    const body = (await res.json()) as unknown;
    return { kind: 'ours', agents: Array.isArray(body) ? (body as AgentInfo[]) : [] };
  } catch {
    return { kind: 'none' };
  }
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
export async function startController(p: LabPaths, port: number, token: string): Promise<number> {
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
    '--token', token,
  ]);
  if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `cannot start the controller: ${lastLine(r.stderr || r.stdout)}`);
  const until = Date.now() + 60_000;
  for (;;) {
    const pid = readPid(p.controllerPidFile);
    const probe = await probeController(port, token);
    if (probe.kind === 'ours' && pid) return pid;
    if (probe.kind === 'other') {
      if (pid) await stopProcess(pid, controllerMarks(p), 5000);
      throw new CtlError('CTL_ERR_LAB', `127.0.0.1:${port} answers HTTP ${probe.status} to the lab's token: another service owns the port; use --port`);
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
