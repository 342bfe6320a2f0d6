import { addFilter } from './template.js';

/**
 * The real servers of a virtual service from an inventory group, for the ipvs task of the
 * director roles: each host's address, the service port, the forwarding method, and its
 * `lvs_weight` host var (1 when unset).
 */
export function lvsRealServers(hosts: unknown, hostvars: Record<string, Record<string, unknown>>, forwarding: string, port: number) {
  if (!Array.isArray(hosts)) throw new Error('lvs_realservers needs a list of hosts (groups[name])');
  return hosts.map((h: string) => {
    const hv = hostvars[h];
    if (!hv) throw new Error(`lvs_realservers: host '${h}' is not in the inventory`);
    return { address: hv.address, port, forwarding, weight: Number(hv.lvs_weight ?? 1) };
  });
}

addFilter('lvs_realservers', lvsRealServers);
