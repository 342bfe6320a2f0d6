import { desiredServices } from '../modules/ipvs.js';
import { realServerKey, serviceKey, type RealServer, type VirtualService } from '../ipvs/table.js';
import { resolveCheck, type Check } from './schema.js';
import { parseSorryServer, sorryForwarding, type RealServerHealthFields, type ServiceHealthFields } from './service-schema.js';
import type { ProbeSpec } from './probe.js';
import { probeId, type CheckTarget } from './types.js';

type IpvsService = Parameters<typeof desiredServices>[0]['services'][number];

/** A parsed `ipvs` service entry with the health keys (service-schema.ts) spread into it. */
export type HealthServiceArgs = Omit<IpvsService, 'realServers'> &
  ServiceHealthFields & { realServers: (IpvsService['realServers'][number] & RealServerHealthFields)[] };

/** The parsed arguments of an `ipvs` task, or the part of them the health checker reads. */
export interface HealthArgs {
  services: HealthServiceArgs[];
}

/** One virtual service as declared (the ipvs module's model) with what the checker needs. */
export interface ServiceHealth {
  service: VirtualService;
  quorum: number;
  hysteresis: number;
  /** Weight 1, put in while quorum is lost. */
  sorryServer?: RealServer;
  /** The resolved check of each real server, by real server key (`172.25.7.3:80`). */
  checks: Record<string, Check>;
}

export interface HealthConfig {
  services: ServiceHealth[];
}

/**
 * The health configuration of an ipvs task's arguments. Ports, weights and keys come from the
 * module's own `desiredServices`, so the checker and the module can never disagree on them.
 */
export function healthConfig(args: HealthArgs): HealthConfig {
  const desired = desiredServices(args);
  return {
    services: args.services.map((s, i) => {
      const service = desired[i];
      const checks: Record<string, Check> = {};
      s.realServers.forEach((r, j) => {
        const resolved = resolveCheck(s.healthcheck, r.healthcheck);
        if (!resolved.ok) throw new Error(`${serviceKey(service)} ${realServerKey(service.realServers[j])}: healthcheck: ${resolved.issues[0].message}`);
        checks[realServerKey(service.realServers[j])] = resolved.check;
      });
      const sorry = s.sorry_server === undefined ? undefined : parseSorryServer(s.sorry_server, service.port ?? 0);
      return {
        service,
        quorum: s.quorum,
        hysteresis: s.hysteresis,
        ...(sorry ? { sorryServer: { ...sorry, forwarding: sorryForwarding(s), weight: 1 } } : {}),
        checks,
      };
    }),
  };
}

/** Where the check of one real server goes, and the environment an exec check gets. */
export function checkTarget(service: VirtualService, rs: Pick<RealServer, 'address' | 'port'>): CheckTarget {
  return {
    address: rs.address,
    port: rs.port,
    protocol: service.protocol,
    ...(service.address !== undefined ? { vip: service.address } : {}),
    ...(service.port !== undefined ? { vport: service.port } : {}),
    ...(service.fwmark !== undefined ? { fwmark: service.fwmark } : {}),
  };
}

/** One probe per real server of every service; a real server without a check gets type none. */
export function probeSpecs(config: HealthConfig): ProbeSpec[] {
  return config.services.flatMap((s) => {
    const service = serviceKey(s.service);
    return s.service.realServers.map((r) => {
      const realServer = realServerKey(r);
      return { id: probeId(service, realServer), service, realServer, check: s.checks[realServer] ?? { type: 'none' }, target: checkTarget(s.service, r) };
    });
  });
}
