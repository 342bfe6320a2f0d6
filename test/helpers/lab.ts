import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { labExec, type LabExecOptions, type LabExecResult } from '../../lab/exec.js';
import { labDown, labStatus, labUp, type LabUpResult } from '../../lab/lab.js';
import { labPaths, type LabPaths } from '../../lab/paths.js';
import { readLabState, type LabMode } from '../../lab/state.js';

/**
 * The lab the integration tests drive. Tests use their own lab folder (LVSCTL_LAB_TEST_DIR,
 * default /var/lib/lvsctl/lab-test) on a free port: an operator's lab (/var/lib/lvsctl/lab) is
 * never touched, reused or stopped. Whatever runs in the test folder belongs to the suite: a
 * lab left there by an interrupted run is reused, and stopped at the end like one the suite
 * started. The kernel cache is shared.
 */
export const TEST_LAB_DIR = process.env.LVSCTL_LAB_TEST_DIR ?? '/var/lib/lvsctl/lab-test';

export interface TestLab {
  paths: LabPaths;
  url: string;
  token: string;
  up: LabUpResult;
  exec(host: string, argv: readonly string[], opts?: Omit<LabExecOptions, 'paths'>): Promise<LabExecResult>;
  /** Runs and fails with the command's output unless it exits 0. */
  run(host: string, argv: readonly string[], opts?: Omit<LabExecOptions, 'paths'>): Promise<LabExecResult>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startTestLab(o: { mode?: LabMode; log?: (m: string) => void } = {}): Promise<TestLab> {
  const paths = labPaths(TEST_LAB_DIR);
  const running = (await labStatus(paths)).running;
  const port = running ? readLabState(paths)!.port : await freePort();
  const up = await labUp({ paths, port, ...(o.mode ? { mode: o.mode } : {}), log: o.log ?? (() => {}) });
  const exec = (host: string, argv: readonly string[], opts: Omit<LabExecOptions, 'paths'> = {}) =>
    labExec(host, argv, { ...opts, paths });
  return {
    paths,
    url: up.url,
    token: up.token,
    up,
    exec,
    async run(host, argv, opts) {
      const r = await exec(host, argv, opts);
      if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
      return r;
    },
  };
}

/** Stops the suite's lab (guest and controller) and removes its runtime files. */
export async function stopTestLab(): Promise<void> {
  await labDown({ paths: labPaths(TEST_LAB_DIR) });
}

/**
 * Drops the held desired states and drift findings from the test lab controller's store (the
 * lab down): the next boot is a fresh guest and must not inherit them (a policy fix among them
 * would start repairing its empty hosts).
 */
export function forgetHeldStates(paths: LabPaths): void {
  const file = join(paths.controllerData, 'store.json');
  if (!existsSync(file)) return;
  const store = JSON.parse(readFileSync(file, 'utf8')) as { desired?: unknown; findings?: unknown };
  delete store.desired;
  delete store.findings;
  writeFileSync(file, JSON.stringify(store), { mode: 0o600 });
}
