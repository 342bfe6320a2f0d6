import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtlError } from '../common/errors.js';
import { controllerPid, controllerScript, initLabController, probeController, startController, stopController, type AgentInfo } from './controller.js';
import { ensureLabIdentities } from './identities.js';
import { labExec } from './exec.js';
import { AGENT_LOG, FAIL_MARK, guestInitScript, READY_FILE, underTmpfs } from './guest-init.js';
import { ensureInitramfs } from './initramfs.js';
import { ensureKernel } from './kernel.js';
import { ensurePackages } from './packages.js';
import { DEFAULT_LAB_PORT, labPaths, type LabPaths } from './paths.js';
import { sleep } from './procs.js';
import { consoleTail, guestPid, processUptime, startGuest, stopGuest } from './qemu.js';
import { writeSkeletons } from './roots.js';
import {
  controllerUrl,
  labToken,
  readLabState,
  removeLabState,
  writeLabState,
  type LabMode,
  type LabState,
} from './state.js';
import { GUEST_ROOT, hostRoot, LAB_HOST_NAMES } from './topology.js';

/** A lab failure with the guest console's tail to show before the one-line reason. */
export class LabError extends CtlError {
  constructor(
    detail: string,
    readonly details?: string,
  ) {
    super('CTL_ERR_LAB', detail);
  }
}

export interface LabUpOptions {
  mode?: LabMode;
  port?: number;
  paths?: LabPaths;
  log?: (msg: string) => void;
  bootTimeoutMs?: number;
  agentsTimeoutMs?: number;
}

export interface LabUpResult {
  reused: boolean;
  kernel: string;
  qemuPid: number;
  url: string;
  token: string;
  /** The lab's CA certificate file: `ctl --ca`, and what its agents pin. */
  caFile: string;
  mode: LabMode;
  agents: AgentInfo[];
  ms: number;
  state: LabState;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function agentMainPath(p: LabPaths): string {
  return join(p.repo, 'dist', 'agent', 'main.js');
}

/**
 * Brings the lab up, or checks and reuses the one that is up: kernel cache, initramfs,
 * controller on the host, guest, topology, agents; then waits until every agent is online.
 */
export async function labUp(o: LabUpOptions = {}): Promise<LabUpResult> {
  const started = performance.now();
  const p = o.paths ?? labPaths();
  const log = o.log ?? (() => {});
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const prev = readLabState(p);
  const runningPid = guestPid(p);

  if (prev && runningPid) {
    if (o.port !== undefined && o.port !== prev.port) {
      throw new CtlError('CTL_ERR_LAB', `the lab is running with port ${prev.port}; run \`ctl lab down\` before changing it`);
    }
    log(`guest already running (pid ${runningPid}); checking it`);
    const r = await labExec(GUEST_ROOT, ['cat', READY_FILE], { paths: p, timeoutMs: 10_000, waitMs: 20_000 }).catch(
      (e: Error) => ({ code: -1, stdout: '', stderr: e.message }),
    );
    if (r.code !== 0) {
      throw new LabError(`the lab guest (pid ${runningPid}) does not answer on its command channel: run \`ctl lab down\` then \`ctl lab up\``, consoleTail(p));
    }
    const state: LabState = { ...prev, mode: o.mode ?? prev.mode, qemuPid: runningPid };
    const token = labToken(p);
    state.controllerPid = await ensureController(p, state.port, token, state.controllerPid, log);
    writeLabState(p, state);
    const agents = await waitAgents(p, state.port, token, o.agentsTimeoutMs ?? 300_000, log);
    const ms = performance.now() - started;
    return { reused: true, kernel: state.kernel, qemuPid: runningPid, url: controllerUrl(state.port), token, caFile: p.caFile, mode: state.mode, agents, ms, state };
  }

  if (prev || runningPid) {
    log('a previous lab was left behind: cleaning it up');
    await labDown({ paths: p });
  }

  for (const [what, dir] of [['lab folder', p.dir], ['kernel cache', p.kernelCache]] as const) {
    if (underTmpfs(dir)) {
      throw new CtlError('CTL_ERR_LAB', `the ${what} ${dir} must not be under /run or /tmp (the guest mounts its own tmpfs there)`);
    }
  }
  const port = o.port ?? DEFAULT_LAB_PORT;
  const mode = o.mode ?? prev?.mode ?? 'nat';
  const installed = await ensurePackages();
  if (installed.length) log(`installed ${installed.join(' ')}`);
  let t = performance.now();
  const kernel = await ensureKernel(p.kernelCache, log);
  const initramfs = await ensureInitramfs(kernel);
  log(`kernel ${kernel.version} ${kernel.fresh ? 'downloaded and unpacked' : 'from cache'} in ${kernel.dir} (${secs(performance.now() - t)})`);

  rmSync(p.runDir, { recursive: true, force: true });
  mkdirSync(p.runDir, { recursive: true, mode: 0o700 });
  // TLS like any controller: a CA in the lab's controller folder, the admin token in the lab's.
  const token = existsSync(controllerScript(p)) ? await initLabController(p) : labToken(p);
  const ctlPid = await ensureController(p, port, token, null, log);
  if (existsSync(controllerScript(p))) {
    try {
      await ensureLabIdentities(p, port, token, readFileSync(p.caFile, 'utf8'), log);
    } catch (e) {
      await stopController(p, ctlPid ?? undefined);
      throw e;
    }
  }

  writeSkeletons(p.skelDir);
  writeFileSync(
    p.guestInit,
    guestInitScript({ modulesDir: kernel.modulesDir, skelDir: p.skelDir, repo: p.repo, port, agentsDir: p.agentsDir }),
    { mode: 0o755 },
  );
  t = performance.now();
  let qemuPid: number;
  try {
    qemuPid = await startGuest(p, {
      vmlinuz: kernel.vmlinuz,
      initramfs,
      ...(process.env.LVSCTL_LAB_9PCACHE ? { cache9p: process.env.LVSCTL_LAB_9PCACHE } : {}),
    });
  } catch (e) {
    await stopController(p, ctlPid ?? undefined);
    throw e;
  }
  const state: LabState = {
    mode,
    port,
    kernel: kernel.version,
    qemuPid,
    controllerPid: ctlPid,
    startedAt: new Date().toISOString(),
    repo: p.repo,
  };
  writeLabState(p, state);
  log(`guest started (qemu pid ${qemuPid}), booting kernel ${kernel.version}`);
  try {
    await waitGuestReady(p, o.bootTimeoutMs ?? 240_000);
  } catch (e) {
    await stopGuest(p, qemuPid);
    await stopController(p, ctlPid ?? undefined);
    rmSync(p.execSocket, { force: true });
    removeLabState(p);
    throw e;
  }
  log(`guest booted in ${secs(performance.now() - t)} (topology built, command channel up)`);
  const agents = await waitAgents(p, port, token, o.agentsTimeoutMs ?? 300_000, log);
  const ms = performance.now() - started;
  return { reused: false, kernel: kernel.version, qemuPid, url: controllerUrl(port), token, caFile: p.caFile, mode, agents, ms, state };
}

/** The lab's CA ('' before `ctl controller init` made it: nothing verifies against that). */
function labCa(p: LabPaths): string {
  try {
    return readFileSync(p.caFile, 'utf8');
  } catch {
    return '';
  }
}

/** Reuses a controller answering on the port with the lab's token, or starts one. */
async function ensureController(
  p: LabPaths,
  port: number,
  token: string,
  known: number | null,
  log: (m: string) => void,
): Promise<number | null> {
  const probe = await probeController(port, token, labCa(p));
  if (probe.kind === 'ours') {
    const pid = controllerPid(p) ?? null;
    if (!pid) log(`controller already answering at ${controllerUrl(port)}: using it`);
    return pid ?? known;
  }
  if (probe.kind === 'other') {
    throw new CtlError('CTL_ERR_LAB', `127.0.0.1:${port} answers ${probe.status ? `HTTP ${probe.status}` : 'without the lab\'s TLS certificate'} to the lab's token: another service owns the port; use --port`);
  }
  if (!existsSync(controllerScript(p))) {
    log(`controller not started: ${controllerScript(p)} does not exist yet (build the project)`);
    return null;
  }
  const t = performance.now();
  const pid = await startController(p, port, token, labCa(p));
  log(`controller started at ${controllerUrl(port)} (pid ${pid}, ${secs(performance.now() - t)})`);
  return pid;
}

async function waitGuestReady(p: LabPaths, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!guestPid(p)) {
      throw new LabError(`the guest stopped during boot${failLine(p)}`, consoleTail(p));
    }
    const fail = failLine(p);
    if (fail) throw new LabError(`the guest's init failed${fail}`, consoleTail(p));
    try {
      const r = await labExec(GUEST_ROOT, ['cat', READY_FILE], { paths: p, timeoutMs: 3000, waitMs: 3000 });
      if (r.code === 0) return;
    } catch {
      // channel not up yet
    }
    if (Date.now() > until) {
      throw new LabError(`the guest did not finish booting within ${secs(timeoutMs)}`, consoleTail(p));
    }
    await sleep(500);
  }
}

function failLine(p: LabPaths): string {
  try {
    const line = readFileSync(p.consoleLog, 'utf8').split('\n').find((l) => l.includes(FAIL_MARK));
    return line ? `: ${line.slice(line.indexOf(FAIL_MARK) + FAIL_MARK.length).trim()}` : '';
  } catch {
    return '';
  }
}

async function waitAgents(p: LabPaths, port: number, token: string, timeoutMs: number, log: (m: string) => void): Promise<AgentInfo[]> {
  if (!existsSync(agentMainPath(p)) || !existsSync(controllerScript(p))) {
    log(`not waiting for agents: ${agentMainPath(p)} or ${controllerScript(p)} does not exist yet`);
    return [];
  }
  const t = performance.now();
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const probe = await probeController(port, token, labCa(p));
    const agents = probe.kind === 'ours' ? probe.agents.filter((a) => LAB_HOST_NAMES.includes(a.name)) : [];
    const online = agents.filter((a) => a.online).map((a) => a.name);
    const msg = `${online.length}/${LAB_HOST_NAMES.length} agents online${online.length ? ` (${online.join(', ')})` : ''}`;
    if (msg !== last) log(msg);
    last = msg;
    if (online.length === LAB_HOST_NAMES.length) {
      log(`agents online in ${secs(performance.now() - t)}`);
      return agents;
    }
    if (Date.now() > until) {
      const missing = LAB_HOST_NAMES.filter((n) => !online.includes(n));
      const logs: string[] = [];
      for (const n of missing) {
        const r = await labExec(GUEST_ROOT, ['tail', '-n', '5', `${hostRoot(n)}/${AGENT_LOG}`], { paths: p, timeoutMs: 5000 }).catch(
          () => undefined,
        );
        logs.push(`--- ${n}: ${hostRoot(n)}/${AGENT_LOG}\n${r?.stdout.trim() || r?.stderr.trim() || '(empty)'}`);
      }
      throw new LabError(
        `agents ${missing.join(', ')} did not come online within ${secs(timeoutMs)} (the lab stays up: inspect it, then \`ctl lab down\`)`,
        logs.join('\n'),
      );
    }
    await sleep(1000);
  }
}

export interface LabStatus {
  running: boolean;
  state?: LabState;
  qemuPid?: number;
  uptimeS?: number;
  url?: string;
  controller?: 'up' | 'down' | 'other';
  agents: AgentInfo[];
}

export async function labStatus(p: LabPaths = labPaths()): Promise<LabStatus> {
  const state = readLabState(p);
  const pid = guestPid(p);
  if (!state || !pid) return { running: false, agents: [], ...(state ? { state } : {}) };
  const token = labToken(p);
  const probe = await probeController(state.port, token, labCa(p));
  const uptime = processUptime(pid);
  return {
    running: true,
    state,
    qemuPid: pid,
    ...(uptime !== undefined ? { uptimeS: uptime } : {}),
    url: controllerUrl(state.port),
    controller: probe.kind === 'ours' ? 'up' : probe.kind === 'none' ? 'down' : 'other',
    agents: probe.kind === 'ours' ? probe.agents : [],
  };
}

export interface LabDownResult {
  guestStopped: boolean;
  controllerStopped: boolean;
}

/** Stops the guest and the controller the lab started, removes runtime files, keeps the kernel cache. */
export async function labDown(o: { paths?: LabPaths } = {}): Promise<LabDownResult> {
  const p = o.paths ?? labPaths();
  const gpid = guestPid(p);
  await stopGuest(p, gpid);
  // Only a controller this lab started (its pidfile, its data folder on the command line).
  const cpid = controllerPid(p);
  await stopController(p, cpid);
  rmSync(p.runDir, { recursive: true, force: true });
  removeLabState(p);
  return { guestStopped: gpid !== undefined, controllerStopped: cpid !== undefined };
}
