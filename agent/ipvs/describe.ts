import type { FieldDrift } from '../../common/findings.js';
import type { Plan } from '../module.js';
import type { IpvsChange } from './plan.js';
import { realServerKey, serviceKey, type IpvsTable, type RealServer, type VirtualService } from './table.js';

/** What the ipvs module observed, as far as its findings need it. */
export interface ObservedTable {
  /** `ipvsadm -Sn` as printed. */
  raw: string;
  table: IpvsTable;
  /** The save file's text (null when absent); undefined when no save is asked. */
  saveText?: string | null;
}
export type SaveChange = { kind: 'save'; path: string };
/** The director's health checker does not run this declaration yet (docs/HEALTH.md). */
export type HealthChange = { kind: 'health'; source: string };

/** `TCP 172.25.7.200:80`, `FWM 1`: how ipvsadm -L names a service. */
export function serviceLabel(s: VirtualService): string {
  return serviceKey(s).replace(/^(\w+):/, (_m, p: string) => `${p.toUpperCase()} `);
}

const FORWARD_NAME = { nat: 'Masq', tun: 'Tunnel', dr: 'Route' } as const;
type Shown<T> = [attribute: string, show: (x: T) => string][];
/** What `-E` sets, as sameService compares it: the netmask only counts for a persistent service. */
function serviceAttrs(want: VirtualService): Shown<VirtualService> {
  return [
    ['scheduler', (s) => s.scheduler],
    ['persistence', (s) => (s.persistent === undefined ? 'off' : `${s.persistent} s`)],
    ...(want.persistent !== undefined ? ([['persistence netmask', (s: VirtualService) => s.netmask ?? '255.255.255.255']] as Shown<VirtualService>) : []),
    ['persistence engine', (s) => s.pe ?? 'none'],
    ['one-packet scheduling', (s) => (s.ops ? 'on' : 'off')],
    ['scheduler flags', (s) => s.schedFlags ?? 'none'],
  ];
}
function serverAttrs(want: RealServer): Shown<RealServer> {
  return [
    ['forwarding', (r) => FORWARD_NAME[r.forwarding]],
    ['weight', (r) => String(r.weight)],
    ...(want.forwarding === 'tun' ? ([['tunnel', (r: RealServer) => `${r.tunType ?? 'ipip'} ${r.tunPort ?? '-'} ${r.tunCsum ?? '-'}`]] as Shown<RealServer>) : []),
    ...(want.uThreshold !== undefined ? ([['upper threshold', (r: RealServer) => String(r.uThreshold ?? 0)]] as Shown<RealServer>) : []),
    ...(want.lThreshold !== undefined ? ([['lower threshold', (r: RealServer) => String(r.lThreshold ?? 0)]] as Shown<RealServer>) : []),
  ];
}

function attrDrift<T>(field: string, what: string, attrs: Shown<T>, have: T, want: T): FieldDrift[] {
  return attrs
    .filter(([, show]) => show(have) !== show(want))
    .map(([attr, show]) => ({ field: `${field} ${attr}`, before: show(have), after: show(want), text: `${what} ${attr} is ${show(have)}, want ${show(want)}` }));
}

/**
 * Drift findings, one per service or real server and attribute: "real server 172.25.7.4:80
 * missing from TCP 172.25.7.200:80", "... weight is 0, want 3". A missing service is one
 * finding, not one more per real server it would hold.
 */
export function describeIpvs(_args: unknown, cur: ObservedTable, plan: Plan<IpvsChange | SaveChange | HealthChange>): FieldDrift[] {
  const have = new Map(cur.table.services.map((s) => [serviceKey(s), s]));
  const missing = new Set(plan.changes.flatMap((c) => (c.kind === 'add-service' ? [serviceKey(c.service)] : [])));
  const svcField = (s: VirtualService) => `service ${serviceKey(s)}`;
  const rsField = (s: VirtualService, r: RealServer) => `real server ${realServerKey(r)} of ${serviceKey(s)}`;
  const rsShown = (r: RealServer) => `${FORWARD_NAME[r.forwarding]} weight ${r.weight}`;
  return plan.changes.flatMap((c): FieldDrift[] => {
    switch (c.kind) {
      case 'add-service': {
        const n = c.service.realServers.length;
        return [{ field: svcField(c.service), before: null, after: `${c.service.scheduler}, ${n} real server(s)`, text: `virtual service ${serviceLabel(c.service)} missing` }];
      }
      case 'edit-service':
        return attrDrift(svcField(c.service), serviceLabel(c.service), serviceAttrs(c.service), have.get(serviceKey(c.service))!, c.service);
      case 'delete-service':
        return [{ field: svcField(c.service), before: c.service.scheduler, after: null, text: `virtual service ${serviceLabel(c.service)} not declared (policy purge removes it)` }];
      case 'add-server':
        if (missing.has(serviceKey(c.service))) return [];
        return [{ field: rsField(c.service, c.server), before: null, after: rsShown(c.server), text: `real server ${realServerKey(c.server)} missing from ${serviceLabel(c.service)}` }];
      case 'edit-server': {
        const old = have.get(serviceKey(c.service))?.realServers.find((r) => realServerKey(r) === realServerKey(c.server))!;
        const what = `real server ${realServerKey(c.server)} of ${serviceLabel(c.service)}`;
        return attrDrift(rsField(c.service, c.server), what, serverAttrs(c.server), old, c.server);
      }
      case 'delete-server':
        return [{ field: rsField(c.service, c.server), before: rsShown(c.server), after: null, text: `real server ${realServerKey(c.server)} in ${serviceLabel(c.service)} not declared` }];
      case 'save': {
        if (cur.saveText === cur.raw) return [];
        const before = cur.saveText === null || cur.saveText === undefined ? null : 'differs';
        return [{ field: c.path, before, after: 'same as ipvsadm -Sn', text: before ? `${c.path} differs from the kernel table` : `${c.path} missing` }];
      }
      case 'health':
        return [{ field: 'health checks', before: 'not running this declaration', after: 'running this declaration', text: 'the health checks do not run this declaration' }];
    }
  });
}
