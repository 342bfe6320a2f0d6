import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { isAlive } from '../../lab/procs.js';
import { labExec, type LabExecOptions, type LabExecResult } from '../../lab/exec.js';
import { labDown, labStatus, labUp, type LabUpResult } from '../../lab/lab.js';
import { labPaths, type LabPaths } from '../../lab/paths.js';
import { readLabState, type LabMode } from '../../lab/state.js';

/**
 * The lab the integration tests drive. Tests use their own lab folder (LVSCTL_LAB_TEST_DIR,
 * default /var/lib/lvsctl/lab-test) on a free port: an operator's lab (/var/lib/lvsctl/lab) is
 * never touched, reused or stopped. Whatever runs in the test folder belongs to the suite: a
 * lab left there by an interrupted run is taken down and its folder emptied before a file's first
 * boot (see takeLabLock). The kernel cache is shared.
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

/**
 * One test lab at a time on the machine: every lab test file uses the same folder (and a second
 * emulated guest would only slow both past their timing bounds), so a file takes this lock at its
 * first boot and keeps it across its own re-boots until `endTestLab`. A lock whose holder died
 * is taken over. Taking it empties the lab's folder, so a file never inherits another's state.
 */
const LOCK = `${TEST_LAB_DIR}.lock`;
let holding = false;

async function takeLabLock(log: (m: string) => void): Promise<void> {
  if (holding) return;
  mkdirSync(path.dirname(LOCK), { recursive: true });
  let said = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      holding = true;
      // Each file starts from an empty lab: nothing an earlier file or an interrupted run left in
      // the lab's folder (its controller's store: drained hosts, ledgers, held state) leaks in.
      await labDown({ paths: labPaths(TEST_LAB_DIR) });
      rmSync(TEST_LAB_DIR, { recursive: true, force: true });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    } catch {
      // just made: its pid is being written
    }
    const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if ((Number.isInteger(holder) && holder > 0 && !isAlive(holder)) || (Number.isNaN(holder) && age > 60_000)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`waiting for the test lab, used by process ${holder}`);
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function startTestLab(o: { mode?: LabMode; log?: (m: string) => void } = {}): Promise<TestLab> {
  await takeLabLock(o.log ?? (() => {}));
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

/** Stops the suite's lab (guest and controller) and removes its runtime files; the lock stays. */
export async function stopTestLab(): Promise<void> {
  await labDown({ paths: labPaths(TEST_LAB_DIR) });
}

/** A lab test file's last word (its `after.always`): the lab down, and the lab free for the next file. */
export async function endTestLab(): Promise<void> {
  try {
    await stopTestLab();
  } finally {
    if (holding) rmSync(LOCK, { recursive: true, force: true });
    holding = false;
  }
}
