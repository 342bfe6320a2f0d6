import { readFileSync } from 'node:fs';

/** The command line of a live process, '' when it does not exist. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** True when `pid` exists and is not a zombie. */
export function isAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 1) return false;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** True when `pid` is alive and its command line contains every one of `marks`. */
export function isOurProcess(pid: number | null | undefined, marks: readonly string[]): boolean {
  if (!isAlive(pid)) return false;
  const c = cmdline(pid!);
  return !!c && marks.every((m) => c.includes(m));
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isFinite(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Ends one process we started, by its id: SIGTERM, then SIGKILL after `graceMs`.
 * Checks it is still ours (`marks`) before each signal, so a recycled pid is never hit.
 */
export async function stopProcess(pid: number, marks: readonly string[], graceMs = 10_000): Promise<void> {
  if (!isOurProcess(pid, marks)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!isOurProcess(pid, marks)) return;
    await sleep(100);
  }
  if (isOurProcess(pid, marks)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && isOurProcess(pid, marks); i++) await sleep(100);
  }
}
