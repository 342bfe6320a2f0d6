import { execOk } from '../../common/exec.js';
import { parseIpJson, type IpSource } from './iproute.js';
import { parseRouteText, type TextRoute } from './iproute-text.js';

/**
 * The `routes` table: the IPv4 unicast routes of every routing table, `ip -4 -j route show
 * table all type unicast` (or, without JSON, `ip -4 route show table all`). `type unicast`
 * leaves out the local table's entries, which some iproute2 5.x releases print as invalid JSON.
 */

const TABLE_IDS: Record<string, string> = { '253': 'default', '254': 'main', '255': 'local' };

/** One unicast route in canonical form: `dst` always has its prefix, `table` is a name or number. */
export interface Route {
  table: string;
  dst: string;
  gateway?: string;
  dev?: string;
  metric: number;
  src?: string;
  scope: string;
}

/** The command of the JSON form, as it appears in messages. */
export const IP_ROUTE_COMMAND = 'ip -4 -j route show table all type unicast';

export function canonicalDst(d: string): string {
  if (d === 'default' || d === '0.0.0.0/0') return 'default';
  return d.includes('/') ? d : `${d}/32`;
}

export function canonicalTable(t: string | number): string {
  return TABLE_IDS[String(t)] ?? String(t);
}

/** Unicast routes in canonical form; local, broadcast and other types are the kernel's. */
function unicastRoutes(routes: TextRoute[]): Route[] {
  return routes
    .filter((r) => r.type === undefined || r.type === 'unicast')
    .map((r) => ({
      table: canonicalTable(r.table ?? 'main'),
      dst: canonicalDst(r.dst),
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.dev ? { dev: r.dev } : {}),
      metric: r.metric ?? 0,
      ...(r.prefsrc ? { src: r.prefsrc } : {}),
      scope: r.scope ?? 'global',
    }));
}

/** Unicast routes of the JSON form (whose objects carry the fields TextRoute names). */
export function parseRoutes(stdout: string): Route[] {
  return unicastRoutes(parseIpJson<TextRoute>(IP_ROUTE_COMMAND, stdout));
}

/**
 * The same routes from `ip -4 route show table all`. Every type is read and the local table's
 * `local` and `broadcast` entries are dropped by the type word that starts their lines, as the
 * JSON path drops them by `type`: with a `type` selector iproute2 leaves that word out, so the
 * text would no longer tell.
 */
export function parseRoutesText(stdout: string): Route[] {
  return unicastRoutes(parseRouteText(stdout));
}

export const IP_ROUTE: IpSource<Route[]> = {
  name: 'ip-route',
  json: ['-4', '-j', 'route', 'show', 'table', 'all', 'type', 'unicast'],
  fromJson: parseRoutes,
  async fromText(exec) {
    return parseRoutesText((await execOk(exec, 'ip', ['-4', 'route', 'show', 'table', 'all'])).stdout);
  },
};
