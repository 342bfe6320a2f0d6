import { CtlError } from '../common/errors.js';
import type { HostFacts, RenderedTask } from '../common/protocol.js';
import type { PlannedRun } from './plan-run.js';
import { inSubnet, netmaskToPrefix } from '../common/ipv4.js';

export interface LintIssue {
  host: string;
  field: string;
  message: string;
}

interface Service {
  director: string;
  key: string;
  vip: string;
  realServers: { address: string; forwarding: 'nat' | 'tun' | 'dr' }[];
  text: string;
}

const MODE_ROLE = /^lvs-realserver-(nat|tun|dr)$/;

function maskBits(netmask: string | undefined, fallback: number): number {
  if (!netmask) return fallback;
  return /^\d+$/.test(netmask) ? Number(netmask) : netmaskToPrefix(netmask);
}

/**
 * The cluster check: what the plan would push, read across hosts, for clusters that cannot
 * work. Checks that need a host's tasks are made only for hosts in the plan.
 */
export function lintCluster(planned: PlannedRun, facts: (host: string) => HostFacts | undefined): LintIssue[] {
  const issues: LintIssue[] = [];
  const inv = planned.inventory;
  const tasksOf: Record<string, RenderedTask[]> = {};
  for (const play of planned.spec.plays) for (const [h, ts] of Object.entries(play.hosts)) (tasksOf[h] ??= []).push(...ts.filter((t) => !t.skip));
  const byAddress = new Map([...inv.hosts.values()].map((h) => [h.address, h.name]));
  const varOf = (host: string, name: string) => planned.vars[host]?.[name];

  const services: Service[] = [];
  for (const [director, tasks] of Object.entries(tasksOf)) {
    for (const t of tasks.filter((x) => x.module === 'ipvs')) {
      for (const s of (t.args.services ?? []) as { protocol?: string; address?: string; port?: number; fwmark?: number; realServers?: { address: string; forwarding?: string }[] }[]) {
        if (!s.address) continue;
        const rs = (s.realServers ?? []).map((r) => ({ address: r.address, forwarding: (r.forwarding ?? 'dr') as 'nat' | 'tun' | 'dr' }));
        services.push({
          director,
          key: `${s.protocol ?? 'tcp'}:${s.address}:${s.port}`,
          vip: s.address,
          realServers: rs,
          text: JSON.stringify(rs.map((r) => `${r.address}/${r.forwarding}`).sort()),
        });
      }
    }
  }

  const byKey = new Map<string, Service>();
  for (const s of services) {
    const other = byKey.get(s.key);
    if (other && other.text !== s.text) {
      issues.push({ host: s.director, field: 'lvs_vip', message: `VIP ${s.key} is used by two services (also on ${other.director}, with other real servers)` });
    }
    byKey.set(s.key, s);
    const owner = byAddress.get(s.vip);
    if (owner) issues.push({ host: s.director, field: 'lvs_vip', message: `VIP ${s.vip} is the address of host ${owner}` });
  }

  for (const s of services) {
    const directorAddr = inv.hosts.get(s.director)!.address;
    for (const r of s.realServers) {
      const rsHost = byAddress.get(r.address);
      if (!rsHost) {
        issues.push({ host: s.director, field: 'lvs_realservers_group', message: `real server ${r.address} of ${s.key} is not a host of the inventory` });
        continue;
      }
      const mine = tasksOf[rsHost];
      if (r.forwarding === 'dr') {
        const dirIf = facts(s.director)?.interfaces.find((i) => i.ip4 === directorAddr);
        const bits = maskBits(dirIf?.ip4subnet, Number(varOf(s.director, 'lvs_network_prefix') ?? 24));
        if (!inSubnet(directorAddr, bits, r.address)) {
          issues.push({ host: rsHost, field: 'ansible_host', message: `DR real server ${r.address} is not on the director's segment ${directorAddr}/${bits}` });
        }
      }
      if (!mine) continue;
      const roles = new Set(mine.map((t) => t.role).filter((x): x is string => !!x));
      const modes = [...roles].map((x) => x.match(MODE_ROLE)?.[1]).filter(Boolean);
      if (modes.length && !modes.includes(r.forwarding)) {
        issues.push({ host: rsHost, field: 'lvs_mode', message: `real server runs lvs-realserver-${modes[0]} but ${s.director} forwards to it with ${r.forwarding}` });
        continue;
      }
      if (r.forwarding === 'nat') {
        const gws = mine.filter((t) => t.module === 'gateway' && (t.args.state ?? 'present') === 'present').map((t) => t.args.address as string);
        if (!gws.includes(directorAddr)) {
          issues.push({
            host: rsHost,
            field: 'lvs_director_address',
            message: `NAT real server's gateway is ${gws[0] ?? 'not set'}, not the director ${s.director} (${directorAddr})`,
          });
        }
      } else {
        const dev = r.forwarding === 'tun' ? 'tunl0' : 'lo';
        const holds = mine.some(
          (t) => t.module === 'address' && (t.args.state ?? 'present') === 'present' && String(t.args.address).split('/')[0] === s.vip && String(t.args.device).split(':')[0] === dev,
        );
        if (!holds) issues.push({ host: rsHost, field: 'lvs_vip', message: `${r.forwarding.toUpperCase()} real server does not hold the VIP ${s.vip} on ${dev}` });
      }
    }
  }
  return issues;
}

export function lintLine(i: LintIssue): string {
  return `${i.host}: ${i.field}: ${i.message}`;
}

/** Refuses a planned run that fails the cluster check, naming the first problem. */
export function assertClusterWorks(planned: PlannedRun, facts: (host: string) => HostFacts | undefined): void {
  const issues = lintCluster(planned, facts);
  if (!issues.length) return;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ctl lint shows all)` : '';
  throw new CtlError('CTL_ERR_CLUSTER_LINT', `cluster check refused the run: ${lintLine(issues[0])}${more}`);
}
