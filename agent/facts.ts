import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import si from 'systeminformation';
import { exec, type Exec } from '../common/exec.js';
import type { HostFacts, Health, InitSystem, InterfaceFact, OsFamily, PackageManager } from '../common/protocol.js';
import { isJsonArray } from './kstate/iproute.js';
import { parseAddrText, parseLinkText } from './kstate/iproute-text.js';
import { prefixToNetmask } from '../common/ipv4.js';

export const AGENT_VERSION = '0.1.0';

/** `ID`/`ID_LIKE`/`VERSION_ID` from os-release, or RHEL 6's redhat-release when that is all there is. */
export async function osIdentity(etc = '/etc'): Promise<{ family: OsFamily; major: number }> {
  const osRelease = await fs.readFile(path.join(etc, 'os-release'), 'utf8').catch(() => null);
  if (osRelease) {
    const kv = Object.fromEntries(
      osRelease
        .split('\n')
        .map((l) => l.match(/^([A-Z_]+)=("?)(.*)\2$/))
        .filter((m): m is RegExpMatchArray => !!m)
        .map((m) => [m[1], m[3]]),
    );
    const ids = `${kv.ID ?? ''} ${kv.ID_LIKE ?? ''}`.split(/\s+/);
    const family: OsFamily = ids.some((i) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux'].includes(i))
      ? 'redhat'
      : ids.some((i) => ['debian', 'ubuntu'].includes(i))
        ? 'debian'
        : 'other';
    return { family, major: parseInt(kv.VERSION_ID ?? '0', 10) || 0 };
  }
  const rh = await fs.readFile(path.join(etc, 'redhat-release'), 'utf8').catch(() => null);
  if (rh) return { family: 'redhat', major: parseInt(rh.match(/release (\d+)/)?.[1] ?? '0', 10) };
  return { family: 'other', major: 0 };
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(path.join(d, bin)));
}

export function detectInit(root: string): InitSystem {
  if (existsSync('/run/systemd/system')) return 'systemd';
  if (existsSync(path.join(root, 'etc/init.d')) || existsSync('/etc/init.d') || onPath('chkconfig')) return 'sysv';
  return 'none';
}

export function detectPkgManager(): PackageManager {
  for (const [bin, pm] of [['dnf', 'dnf'], ['yum', 'yum'], ['apt-get', 'apt']] as const) if (onPath(bin)) return pm;
  return 'none';
}

interface IpAddrJson {
  ifname: string;
  address?: string;
  operstate?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/**
 * Interfaces and IPv4 addresses from one `ip -j addr show`, or from `ip -o link show` and
 * `ip -o addr show` where iproute2 has no JSON (RHEL 6, RHEL 7). (systeminformation's
 * networkInterfaces() starts a shell with ~25 `cat`s per interface: 20-60 s on an emulated lab
 * guest, for the same facts.)
 */
export async function interfaceFacts(run: Exec): Promise<InterfaceFact[]> {
  const r = await run('ip', ['-j', 'addr', 'show']);
  const links = r.code === 0 && isJsonArray(r.stdout) ? (JSON.parse(r.stdout) as IpAddrJson[]) : await linksFromText(run);
  return links.flatMap((l) => {
    const v4 = (l.addr_info ?? []).filter((a) => a.family === 'inet');
    const base = { name: l.ifname, mac: l.address ?? '', operstate: (l.operstate ?? 'unknown').toLowerCase() };
    return v4.length ? v4.map((a) => ({ ...base, ip4: a.local, ip4subnet: prefixToNetmask(a.prefixlen) })) : [{ ...base, ip4: '', ip4subnet: '' }];
  });
}

async function linksFromText(run: Exec): Promise<IpAddrJson[]> {
  const links = await run('ip', ['-o', 'link', 'show']);
  const addrs = await run('ip', ['-o', 'addr', 'show']);
  if (links.code !== 0 || addrs.code !== 0) return [];
  const all = parseAddrText(addrs.stdout);
  return parseLinkText(links.stdout).map((l) => ({
    ifname: l.ifname,
    ...(l.address !== undefined ? { address: l.address } : {}),
    ...(l.operstate !== undefined ? { operstate: l.operstate } : {}),
    addr_info: all.filter((a) => a.ifindex === l.ifindex),
  }));
}

export async function gatherFacts(name: string, root: string, run: Exec = exec): Promise<HostFacts> {
  const [osInfo, list, cpu, mem, ident] = await Promise.all([si.osInfo(), interfaceFacts(run), si.cpu(), si.mem(), osIdentity()]);
  return {
    hostname: name,
    os: {
      platform: osInfo.platform,
      distro: osInfo.distro,
      release: osInfo.release,
      major: ident.major,
      codename: osInfo.codename,
      kernel: os.release(),
      arch: os.arch(),
      family: ident.family,
    },
    initSystem: detectInit(root),
    pkgManager: detectPkgManager(),
    interfaces: list,
    cpu: { brand: cpu.brand, cores: cpu.cores },
    memory: { total: mem.total, free: mem.available },
    root,
    agentVersion: AGENT_VERSION,
  };
}

export function health(busy: number): Health {
  return {
    uptime: os.uptime(),
    load1: os.loadavg()[0],
    memFree: os.freemem(),
    memTotal: os.totalmem(),
    busy,
  };
}
