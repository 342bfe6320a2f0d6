import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository this code runs from (dist/lab/paths.js -> repo root), symlinks resolved. */
export const REPO_ROOT: string = realpathSync(fileURLToPath(new URL('../../', import.meta.url)));

/** Where a lab keeps its state unless told otherwise (`LVSCTL_LAB_DIR`). */
export const DEFAULT_LAB_DIR = '/var/lib/lvsctl/lab';
/** The persistent kernel cache shared by every lab on the machine (`LVSCTL_KERNEL_CACHE`). */
export const DEFAULT_KERNEL_CACHE = '/var/cache/lvsctl/kernel';
export const DEFAULT_LAB_PORT = 7480;

/**
 * Every file of one lab. `dir` is persistent (token, controller store and CA, agents' keys); `runDir` holds the
 * runtime files of a running lab and is removed by `lab down`. Both must live outside /run and
 * /tmp: the guest sees the host's root read-only over 9p but mounts its own tmpfs on those.
 */
export interface LabPaths {
  dir: string;
  /** The lab controller's admin API token (0600), made by `ctl controller init`. */
  tokenFile: string;
  stateFile: string;
  controllerData: string;
  /** The CA the lab's agents and `ctl` pin. */
  caFile: string;
  /** One state folder per lab host (key, certificate, CA), copied into the guest at boot. */
  agentsDir: string;
  runDir: string;
  consoleLog: string;
  qemuPidFile: string;
  execSocket: string;
  guestInit: string;
  skelDir: string;
  controllerLog: string;
  controllerPidFile: string;
  kernelCache: string;
  repo: string;
}

export function labPaths(dir?: string, kernelCache?: string): LabPaths {
  const d = dir ?? process.env.LVSCTL_LAB_DIR ?? DEFAULT_LAB_DIR;
  const run = join(d, 'run');
  return {
    dir: d,
    tokenFile: join(d, 'token'),
    stateFile: join(d, 'state.json'),
    controllerData: join(d, 'controller'),
    caFile: join(d, 'controller', 'pki', 'ca.crt'),
    agentsDir: join(d, 'agents'),
    runDir: run,
    consoleLog: join(run, 'console.log'),
    qemuPidFile: join(run, 'qemu.pid'),
    execSocket: join(run, 'exec.sock'),
    guestInit: join(run, 'guest-init.sh'),
    skelDir: join(run, 'skel'),
    controllerLog: join(run, 'controller.log'),
    controllerPidFile: join(run, 'controller.pid'),
    kernelCache: kernelCache ?? process.env.LVSCTL_KERNEL_CACHE ?? DEFAULT_KERNEL_CACHE,
    repo: REPO_ROOT,
  };
}
