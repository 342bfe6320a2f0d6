import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../common/exec.js';
import { CtlError } from '../common/errors.js';
import { EXEC_PORT_NAME } from './protocol.js';
import type { LabPaths } from './paths.js';
import { isOurProcess, readPid, stopProcess } from './procs.js';
import { lastLine } from './packages.js';

export const QEMU = 'qemu-system-x86_64';
/** 9p mount tag of the repository's dist/ folder. */
export const REPO_DIST_TAG = 'repodist';

export interface GuestSpec {
  vmlinuz: string;
  initramfs: string;
  memory?: string;
  cpus?: number;
  /**
   * 9p cache mode of the host's root in the guest: `loose` unless told (every process start
   * reads binaries and libraries over 9p; caching halves the boot). The guest then does not see
   * host files change under it, except the repository's dist/ (its own uncached mount).
   */
  cache9p?: string;
}

/** A path inside a qemu `key=value,...` option: commas doubled. */
function optPath(path: string): string {
  return path.replace(/,/g, ',,');
}

/**
 * The qemu command line. TCG (KVM hangs in nested guests here), multi-threaded; the host's root
 * read-only over 9p; slirp networking (the guest reaches the host's 127.0.0.1 as 10.0.2.2, and
 * nothing else: the guest has no default route and drops other output); the command channel on a
 * virtio-serial port backed by a unix socket in the lab's run folder; serial console to a file.
 */
export function qemuArgs(p: LabPaths, g: GuestSpec): string[] {
  return [
    '-name', 'lvslab',
    '-accel', 'tcg,thread=multi',
    '-smp', String(g.cpus ?? 2),
    '-m', g.memory ?? '1536M',
    '-display', 'none',
    '-monitor', 'none',
    '-parallel', 'none',
    '-serial', `file:${p.consoleLog}`,
    '-no-reboot',
    '-daemonize',
    '-pidfile', p.qemuPidFile,
    '-kernel', g.vmlinuz,
    '-initrd', g.initramfs,
    '-append', `console=ttyS0 quiet panic=-1 lvslab.init=${p.guestInit} lvslab.9pcache=${g.cache9p ?? 'loose'}`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    // The repository's build output separately and uncached, so a rebuilt agent is what restarts.
    '-virtfs', `local,path=${optPath(join(p.repo, 'dist'))},mount_tag=${REPO_DIST_TAG},security_model=none,readonly=on,multidevs=remap`,
    '-netdev', 'user,id=net0',
    '-device', 'virtio-net-pci,netdev=net0,romfile=',
    '-device', 'virtio-serial-pci',
    '-chardev', `socket,id=labexec,path=${optPath(p.execSocket)},server=on,wait=off`,
    '-device', `virtserialport,chardev=labexec,name=${EXEC_PORT_NAME}`,
  ];
}

/** What identifies this lab's qemu in /proc/PID/cmdline. */
export function qemuMarks(p: LabPaths): string[] {
  return [QEMU, p.execSocket];
}

export function guestPid(p: LabPaths): number | undefined {
  const pid = readPid(p.qemuPidFile);
  return pid && isOurProcess(pid, qemuMarks(p)) ? pid : undefined;
}

/** Starts the guest in the background (qemu -daemonize returns once the machine is created). */
export async function startGuest(p: LabPaths, g: GuestSpec): Promise<number> {
  rmSync(p.execSocket, { force: true });
  rmSync(p.qemuPidFile, { force: true });
  const r = await exec(QEMU, qemuArgs(p, g), { timeoutMs: 60_000 });
  if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `${QEMU} failed to start: ${lastLine(r.stderr) || `exit ${r.code}`}`);
  const pid = guestPid(p);
  if (!pid) throw new CtlError('CTL_ERR_LAB', `${QEMU} started but exited at once`);
  return pid;
}

export async function stopGuest(p: LabPaths, pid: number | undefined = guestPid(p)): Promise<void> {
  if (pid) await stopProcess(pid, qemuMarks(p), 10_000);
}

/** The last `n` lines of the guest's console, without terminal escapes. */
export function consoleTail(p: LabPaths, n = 25): string {
  if (!existsSync(p.consoleLog)) return '(no console log)';
  const text = readFileSync(p.consoleLog, 'utf8')
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\x1bc/g, '')
    .replace(/\r/g, '');
  return text.split('\n').filter((l) => l.trim()).slice(-n).join('\n');
}

/** Seconds the guest's qemu process has been running. */
export function processUptime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return up - startTicks / 100;
  } catch {
    return undefined;
  }
}
