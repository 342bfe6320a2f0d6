import type { DirectorStatus, HealthReply, KernelCounters, RealServerStatus, ServiceStatus } from '../common/health-api.js';

type Snap = HealthReply['snapshot']['services'][number];
type SnapRs = Snap['realServers'][number];
type KernelSvc = KernelCounters['services'][number];
type KernelRs = KernelSvc['realServers'][number];

const FORWARDING = ['nat', 'tun', 'dr', 'local'] as const;
const isForwarding = (f: string): f is (typeof FORWARDING)[number] => (FORWARDING as readonly string[]).includes(f);

const addressOf = (rs: string) => rs.replace(/^\[(.*)\]:\d+$/, '$1').replace(/:\d+$/, '');

function realServer(s: SnapRs | undefined, k: KernelRs | undefined, key: string): RealServerStatus {
  return {
    realServer: key,
    address: addressOf(key),
    declaredWeight: s ? s.declaredWeight : null,
    weight: s ? s.weight : null,
    liveWeight: k ? k.weight : null,
    ...(k && isForwarding(k.forwarding) ? { forwarding: k.forwarding } : {}),
    state: s ? s.state : 'unknown',
    note: s ? s.note : 'in the kernel, declared by no checked task',
    drained: s?.drained ?? false,
    sorry: s?.sorry ?? false,
    check: s ? s.check : null,
    ...(s?.reason !== undefined ? { reason: s.reason } : {}),
    ...(s?.since !== undefined ? { since: s.since } : {}),
    ...(s?.lastCheckAt !== undefined ? { lastCheckAt: s.lastCheckAt } : {}),
    ...(s?.lastCheckMs !== undefined ? { lastCheckMs: s.lastCheckMs } : {}),
    ...(s?.lastResult !== undefined ? { lastResult: s.lastResult } : {}),
    activeConn: k ? k.activeConn : null,
    inActConn: k ? k.inActConn : null,
    cps: k ? k.cps : null,
  };
}

function service(key: string, s: Snap | undefined, k: KernelSvc | undefined, counted: boolean): ServiceStatus {
  const fromKernel = new Map((k?.realServers ?? []).map((r) => [r.realServer, r]));
  const rows = (s?.realServers ?? []).map((r) => {
    const kr = fromKernel.get(r.realServer);
    fromKernel.delete(r.realServer);
    return realServer(r, kr, r.realServer);
  });
  for (const [rk, kr] of fromKernel) rows.push(realServer(undefined, kr, rk));
  return {
    service: key,
    scheduler: k?.scheduler ?? null,
    cps: k?.cps ?? null,
    ...(s ? { quorum: s.quorum } : {}),
    ...(s?.sorryServer ? { sorryServer: s.sorryServer } : {}),
    missing: counted && !!s && !k,
    realServers: rows,
  };
}

/**
 * One director as `ctl status` shows it: the services its checker runs (declared and adjusted
 * weights, health, last check) joined with what the kernel holds (live weight, connections,
 * rates); services only in the kernel are listed too, declared by nothing the checker runs.
 */
export function directorStatus(host: string, reply: HealthReply): DirectorStatus {
  const kernel = new Map((reply.kernel?.services ?? []).map((s) => [s.service, s]));
  const services = reply.snapshot.services.map((s) => {
    const k = kernel.get(s.service);
    kernel.delete(s.service);
    return service(s.service, s, k, reply.kernel !== null);
  });
  for (const [key, k] of kernel) services.push(service(key, undefined, k, true));
  return {
    host,
    at: reply.snapshot.at,
    ...(reply.kernelError ? { error: `no kernel counters: ${reply.kernelError}` } : {}),
    drained: reply.snapshot.drained,
    services,
  };
}
