import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { InitSystem, OsFamily, PackageManager } from '../common/protocol.js';

/**
 * What the host is, decided from the OS itself (os-release, PID 1); binaries found on the PATH
 * only confirm. Picking the first package manager on the PATH made a Debian host with Debian's
 * `dnf` package installed (the lab's) use dnf.
 */
export interface OsRelease {
  /** os-release `ID` (`debian`, `rhel`, `rocky`, `fedora`), lower case; '' when unknown. */
  id: string;
  /** os-release `ID_LIKE`, split. */
  idLike: string[];
  /** Major version (`VERSION_ID` 9.4 -> 9, Fedora 40 -> 40), 0 when unknown. */
  major: number;
}

const REDHAT_IDS = ['rhel', 'fedora', 'centos', 'rocky', 'almalinux'];
const DEBIAN_IDS = ['debian', 'ubuntu'];

export function parseOsRelease(text: string): OsRelease {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Z_]+)=(["']?)(.*)\2\s*$/);
    if (m) kv[m[1]] = m[3];
  }
  return {
    id: (kv.ID ?? '').toLowerCase(),
    idLike: (kv.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    major: parseInt(kv.VERSION_ID ?? '0', 10) || 0,
  };
}

/** os-release, or RHEL/CentOS 6's redhat-release when that is all there is. */
export async function readOsRelease(etc = '/etc'): Promise<OsRelease> {
  const osRelease = await fs.readFile(path.join(etc, 'os-release'), 'utf8').catch(() => null);
  if (osRelease) return parseOsRelease(osRelease);
  const rh = await fs.readFile(path.join(etc, 'redhat-release'), 'utf8').catch(() => null);
  if (rh) {
    const id = /fedora/i.test(rh) ? 'fedora' : /centos/i.test(rh) ? 'centos' : 'rhel';
    return { id, idLike: [], major: parseInt(rh.match(/release (\d+)/)?.[1] ?? '0', 10) };
  }
  return { id: '', idLike: [], major: 0 };
}

export function osFamily(os: OsRelease): OsFamily {
  const ids = [os.id, ...os.idLike];
  if (ids.some((i) => REDHAT_IDS.includes(i))) return 'redhat';
  if (ids.some((i) => DEBIAN_IDS.includes(i))) return 'debian';
  return 'other';
}

export async function osIdentity(etc = '/etc'): Promise<{ family: OsFamily; major: number }> {
  const os = await readOsRelease(etc);
  return { family: osFamily(os), major: os.major };
}

export type PackageBinary = 'dnf' | 'yum' | 'apt-get';

/**
 * The package manager the OS uses. Debian and its kin: apt, whatever else is installed. The
 * Red Hat family: yum before RHEL 8 (Fedora 22), dnf from then on; the other of the two when only
 * it is there (a trimmed image). An OS this table does not know: the first binary found.
 * 'none' when the OS's own tool is missing, rather than a tool that would fail there.
 */
export function choosePkgManager(os: OsRelease, has: (bin: PackageBinary) => boolean): PackageManager {
  const family = osFamily(os);
  if (family === 'debian') return has('apt-get') ? 'apt' : 'none';
  if (family === 'redhat') {
    const dnfFrom = os.id === 'fedora' ? 22 : 8;
    const want: 'dnf' | 'yum' = os.major === 0 ? (has('dnf') ? 'dnf' : 'yum') : os.major >= dnfFrom ? 'dnf' : 'yum';
    const other = want === 'dnf' ? 'yum' : 'dnf';
    return has(want) ? want : has(other) ? other : 'none';
  }
  for (const [bin, pm] of [['dnf', 'dnf'], ['yum', 'yum'], ['apt-get', 'apt']] as const) if (has(bin)) return pm;
  return 'none';
}

export interface InitProbe {
  /** PID 1's name (`/proc/1/comm`, else the name of `/proc/1/exe`); undefined when unreadable. */
  pid1?: string;
  /** `/run/systemd/system` exists (sd_booted()). */
  systemdBooted: boolean;
  /** An `etc/init.d` under the agent's root or the host's. */
  initD: boolean;
}

/**
 * systemd when PID 1 is systemd. PID 1 named `init` (or unreadable) may be systemd started as
 * /sbin/init: then systemd's own marker decides. Otherwise SysV scripts when there is an init.d.
 */
export function chooseInit(p: InitProbe): InitSystem {
  const systemd = p.pid1 === 'systemd' || ((p.pid1 === undefined || p.pid1 === 'init') && p.systemdBooted);
  if (systemd) return 'systemd';
  return p.initD ? 'sysv' : 'none';
}

export async function pid1Name(proc = '/proc'): Promise<string | undefined> {
  const comm = await fs.readFile(path.join(proc, '1/comm'), 'utf8').catch(() => null);
  if (comm?.trim()) return comm.trim();
  const exe = await fs.readlink(path.join(proc, '1/exe')).catch(() => null);
  return exe ? path.basename(exe.replace(/ \(deleted\)$/, '')) : undefined;
}

/** Where binaries are looked for: the PATH, and the standard places a service's PATH may lack. */
export function onPath(bin: string, envPath = process.env.PATH ?? ''): boolean {
  const dirs = new Set([...envPath.split(':').filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  return [...dirs].some((d) => existsSync(path.join(d, bin)));
}

export interface Platform {
  family: OsFamily;
  major: number;
  pkgManager: PackageManager;
  initSystem: InitSystem;
}

export async function detectPlatform(root: string, etc = '/etc'): Promise<Platform> {
  const [os, pid1] = await Promise.all([readOsRelease(etc), pid1Name()]);
  return {
    family: osFamily(os),
    major: os.major,
    pkgManager: choosePkgManager(os, (b) => onPath(b)),
    initSystem: chooseInit({
      pid1,
      systemdBooted: existsSync('/run/systemd/system'),
      initD: existsSync(path.join(root, 'etc/init.d')) || existsSync(path.join(etc, 'init.d')),
    }),
  };
}
