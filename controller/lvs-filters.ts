import { addFilter, OMIT } from './template.js';

/**
 * The real servers of a virtual service from an inventory group, for the ipvs task of the
 * director roles: each host's address, the service port, the forwarding method, its
 * `lvs_weight` host var (1 when unset) and its `lvs_rs_healthcheck` (merged over the service's
 * check by the ipvs module) when set.
 */
export function lvsRealServers(hosts: unknown, hostvars: Record<string, Record<string, unknown>>, forwarding: string, port: number) {
  if (!Array.isArray(hosts)) throw new Error('lvs_realservers needs a list of hosts (groups[name])');
  return hosts.map((h: string) => {
    const hv = hostvars[h];
    if (!hv) throw new Error(`lvs_realservers: host '${h}' is not in the inventory`);
    const check = hv.lvs_rs_healthcheck;
    return {
      address: hv.address,
      port,
      forwarding,
      weight: Number(hv.lvs_weight ?? 1),
      ...(check !== undefined && check !== null && check !== '' ? { healthcheck: typeof check === 'string' ? { type: check } : check } : {}),
    };
  });
}

/**
 * The service's `healthcheck` from the director role's variables: `lvs_healthcheck` (a type name
 * or a mapping of check keys; empty or false: no check) with the timing variables set beside it
 * (`lvs_healthcheck_interval`, ...). Unset (null) ones are left out, so the ipvs module's own
 * defaults apply; a key inside the mapping wins over its variable.
 */
export function lvsHealthcheck(check: unknown, timing: Record<string, unknown> = {}) {
  if (check === undefined || check === null || check === false || check === '') return OMIT;
  const base: Record<string, unknown> = typeof check === 'string' ? { type: check } : { ...(check as Record<string, unknown>) };
  if (base.type === 'none') return base;
  const set = Object.entries(timing).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return { ...Object.fromEntries(set), ...base };
}

addFilter('lvs_realservers', lvsRealServers);
addFilter('lvs_healthcheck', lvsHealthcheck);
