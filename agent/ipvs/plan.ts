import {
  realServerKey,
  serverOptions,
  serviceArg,
  serviceKey,
  serviceOptions,
  sortServers,
  sortServices,
  type IpvsTable,
  type RealServer,
  type VirtualService,
} from './table.js';

/** What to do with kernel services that no declared service owns. */
export type ForeignPolicy = 'keep' | 'report' | 'purge';

/** One ipvsadm command; each becomes one line of the `ipvsadm -R` batch. */
export type IpvsChange =
  | { kind: 'add-service'; service: VirtualService }
  | { kind: 'edit-service'; service: VirtualService }
  | { kind: 'add-server'; service: VirtualService; server: RealServer }
  | { kind: 'edit-server'; service: VirtualService; server: RealServer }
  | { kind: 'delete-server'; service: VirtualService; server: RealServer }
  | { kind: 'delete-service'; service: VirtualService };

export interface Reconciled {
  changes: IpvsChange[];
  /** Kernel services outside the declaration, whatever the policy does with them. */
  foreign: VirtualService[];
}

/** Everything `-E` sets; `-E` replaces all of it, so any difference means one `-E` with all of it. */
export function sameService(want: VirtualService, have: VirtualService): boolean {
  return (
    want.scheduler === have.scheduler &&
    want.persistent === have.persistent &&
    (want.persistent === undefined || want.netmask === have.netmask) &&
    (want.pe ?? '') === (have.pe ?? '') &&
    !!want.ops === !!have.ops &&
    (want.schedFlags ?? '') === (have.schedFlags ?? '')
  );
}

/**
 * Everything `-e` sets. Thresholds count only when declared: `-S` does not show them, so they
 * are read (with `-L --thresholds`) only for a declaration that names them.
 */
export function sameServer(want: RealServer, have: RealServer): boolean {
  if (want.forwarding !== have.forwarding || want.weight !== have.weight) return false;
  if (
    want.forwarding === 'tun' &&
    ((want.tunType ?? 'ipip') !== (have.tunType ?? 'ipip') || want.tunPort !== have.tunPort || want.tunCsum !== have.tunCsum)
  ) {
    return false;
  }
  if (want.uThreshold !== undefined && want.uThreshold !== (have.uThreshold ?? 0)) return false;
  if (want.lThreshold !== undefined && want.lThreshold !== (have.lThreshold ?? 0)) return false;
  return true;
}

/**
 * The smallest set of edits from `observed` to `desired`, by set difference on canonical keys:
 * add what is missing, edit in place what differs, delete stale real servers of declared
 * services, and delete undeclared services only under `purge`. Nothing that is already right is
 * touched, so its connections and counters survive.
 *
 * Order: adds, then edits, then deletes, so a service being re-pointed always has a server.
 */
export function reconcile(desired: readonly VirtualService[], observed: IpvsTable, policy: ForeignPolicy): Reconciled {
  const have = new Map(observed.services.map((s) => [serviceKey(s), s]));
  const wanted = new Set(desired.map(serviceKey));
  const adds: IpvsChange[] = [];
  const edits: IpvsChange[] = [];
  const deletes: IpvsChange[] = [];

  for (const want of sortServices(desired)) {
    const cur = have.get(serviceKey(want));
    if (!cur) adds.push({ kind: 'add-service', service: want });
    else if (!sameService(want, cur)) edits.push({ kind: 'edit-service', service: want });

    const curServers = new Map((cur?.realServers ?? []).map((r) => [realServerKey(r), r]));
    const wantKeys = new Set(want.realServers.map(realServerKey));
    for (const server of sortServers(want.realServers)) {
      const old = curServers.get(realServerKey(server));
      if (!old) adds.push({ kind: 'add-server', service: want, server });
      else if (!sameServer(server, old)) edits.push({ kind: 'edit-server', service: want, server });
    }
    for (const server of sortServers(cur?.realServers ?? [])) {
      if (!wantKeys.has(realServerKey(server))) deletes.push({ kind: 'delete-server', service: want, server });
    }
  }

  const foreign = sortServices(observed.services.filter((s) => !wanted.has(serviceKey(s))));
  if (policy === 'purge') for (const service of foreign) deletes.push({ kind: 'delete-service', service });
  return { changes: [...adds, ...edits, ...deletes], foreign };
}

const LINE: { [K in IpvsChange['kind']]: (c: Extract<IpvsChange, { kind: K }>) => string } = {
  'add-service': (c) => `-A ${serviceArg(c.service)} ${serviceOptions(c.service)}`,
  'edit-service': (c) => `-E ${serviceArg(c.service)} ${serviceOptions(c.service)}`,
  'add-server': (c) => `-a ${serviceArg(c.service)} ${serverOptions(c.server)}`,
  'edit-server': (c) => `-e ${serviceArg(c.service)} ${serverOptions(c.server)}`,
  'delete-server': (c) => `-d ${serviceArg(c.service)} -r ${realServerKey(c.server)}`,
  'delete-service': (c) => `-D ${serviceArg(c.service)}`,
};

/** The ipvsadm command line (without `ipvsadm`) for one change. */
export function changeLine(c: IpvsChange): string {
  return (LINE[c.kind] as (c: IpvsChange) => string)(c);
}

/**
 * The stdin of one `ipvsadm -R`: restore_table runs every line through process_options like a
 * command line, so -E/-e/-d/-D lines work there as well as -A/-a. No comments: ipvsadm's
 * config_stream_read does not reliably drop them.
 */
export function batchText(changes: readonly IpvsChange[]): string {
  return changes.map((c) => changeLine(c) + '\n').join('');
}
