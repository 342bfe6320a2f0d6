import os from 'node:os';
import si from 'systeminformation';
import { exec, type Exec } from '../common/exec.js';
import type { HostFacts, Health, InterfaceFact } from '../common/protocol.js';
import { isJsonArray } from './kstate/iproute.js';
import { parseAddrText, parseLinkText } from './kstate/iproute-text.js';
import { prefixToNetmask } from '../common/ipv4.js';
import { detectPlatform } from './platform.js';

export const AGENT_VERSION = '0.1.0';

export { osIdentity } from './platform.js';

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
  const [osInfo, list, cpu, mem, platform] = await Promise.all([si.osInfo(), interfaceFacts(run), si.cpu(), si.mem(), detectPlatform(root)]);
  return {
    hostname: name,
    os: {
      platform: osInfo.platform,
      distro: osInfo.distro,
      release: osInfo.release,
      major: platform.major,
      codename: osInfo.codename,
      kernel: os.release(),
      arch: os.arch(),
      family: platform.family,
    },
    initSystem: platform.initSystem,
    pkgManager: platform.pkgManager,
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
