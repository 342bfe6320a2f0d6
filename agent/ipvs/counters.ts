import type { Exec } from '../../common/exec.js';
import type { KernelCounters } from '../../common/health-api.js';
import { readText } from '../fsutil.js';
import { parseList, type ListTable } from './parse-list.js';

/**
 * The kernel's view of each real server for `ctl status`: weight and connections from
 * `ipvsadm -Ln`, connections per second from `ipvsadm -Ln --rate` (ipvsadm prints one format
 * per listing, so two spawns; only when a snapshot is asked for).
 */
export async function readCounters(exec: Exec, readFile: (p: string) => Promise<string | null> = readText): Promise<KernelCounters> {
  // A host with an empty table (every agent that is not a director) answers from one /proc read.
  const proc = await readFile('/proc/net/ip_vs');
  if (proc === null) throw new Error('ip_vs is not loaded (no /proc/net/ip_vs)');
  if (!/^(TCP|UDP|SCTP|FWM)\s/m.test(proc)) return { services: [] };
  const [plain, rate] = await Promise.all([exec('ipvsadm', ['-Ln']), exec('ipvsadm', ['-Ln', '--rate'])]);
  if (plain.code !== 0) throw new Error(`ipvsadm -Ln: exit ${plain.code}: ${(plain.stderr || plain.stdout).trim().split('\n')[0] ?? ''}`);
  return countersFrom(parseList(plain.stdout), rate.code === 0 ? parseList(rate.stdout) : undefined);
}

/** Joins a plain listing with a `--rate` one by the canonical keys. */
export function countersFrom(list: ListTable, rates?: ListTable): KernelCounters {
  const rateOf = new Map<string, number>();
  for (const s of rates?.services ?? []) {
    if (s.rate) rateOf.set(s.key, s.rate.cps);
    for (const r of s.realServers) if (r.rate) rateOf.set(`${s.key} ${r.key}`, r.rate.cps);
  }
  return {
    services: list.services.map((s) => ({
      service: s.key,
      scheduler: s.scheduler ?? '',
      cps: rateOf.get(s.key) ?? null,
      realServers: s.realServers.map((r) => ({
        realServer: r.key,
        forwarding: r.forwarding ?? '',
        weight: r.weight ?? 0,
        activeConn: r.activeConn ?? 0,
        inActConn: r.inActConn ?? 0,
        cps: rateOf.get(`${s.key} ${r.key}`) ?? null,
      })),
    })),
  };
}
