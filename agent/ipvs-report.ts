import type { Exec } from '../common/exec.js';
import type { IpvsReport } from '../common/ipvs-report.js';
import { parseList, type ListTable } from './ipvs/parse-list.js';

async function list(exec: Exec, args: string[]): Promise<ListTable> {
  const argv = ['-L', '-n', ...args];
  const r = await exec('ipvsadm', argv);
  if (r.code !== 0) throw new Error(`ipvsadm ${argv.join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n').join(' | ')}`);
  return parseList(r.stdout);
}

const label = (key: string) => key.replace(/^(\w+):/, (_m, p: string) => `${p.toUpperCase()} `);

/**
 * The director's live table with its counters, for the health view and /metrics: weights and
 * ActiveConn/InActConn from `ipvsadm -Ln`, connections per second from `ipvsadm -Ln --rate`
 * (two listings: ipvsadm prints one format at a time). A rate listing that fails leaves the
 * rates null rather than the report out.
 */
export async function readIpvsReport(exec: Exec, now: () => number = Date.now): Promise<IpvsReport> {
  const plain = await list(exec, []);
  const rate = await list(exec, ['--rate']).catch(() => undefined);
  const rates = new Map(rate?.services.map((s) => [s.key, s]) ?? []);
  return {
    at: now(),
    services: plain.services.map((s) => {
      const r = rates.get(s.key);
      const rsRates = new Map(r?.realServers.map((x) => [x.key, x.rate?.cps ?? null]) ?? []);
      return {
        key: s.key,
        label: label(s.key),
        scheduler: s.scheduler ?? '',
        connRate: r?.rate?.cps ?? null,
        realServers: s.realServers.map((x) => ({
          key: x.key,
          ...(x.forwarding ? { forwarding: x.forwarding } : {}),
          weight: x.weight ?? 0,
          activeConn: x.activeConn ?? 0,
          inactConn: x.inActConn ?? 0,
          connRate: rsRates.get(x.key) ?? null,
        })),
      };
    }),
  };
}

/** Two reports tell the same (the read time aside): nothing to send. */
export function sameIpvsReport(a: IpvsReport | undefined, b: IpvsReport): boolean {
  return !!a && JSON.stringify(a.services) === JSON.stringify(b.services);
}
