import type { StatusResponse } from '../common/health-api.js';

export interface DrainRow {
  director: string;
  service: string;
  realServer: string;
  /** The kernel's weight now; null: not in the table. */
  liveWeight: number | null;
  activeConn: number | null;
}

export interface DrainProgress {
  rows: DrainRow[];
  /** Directors that did not answer: they may hold the host, so the drain cannot be confirmed. */
  silent: string[];
  done: boolean;
}

/** A row still serving: the kernel has not set weight 0 yet, or connections are open (or unknown). */
function busy(r: DrainRow): boolean {
  return (r.liveWeight !== null && r.liveWeight !== 0) || r.activeConn === null || r.activeConn > 0;
}

/**
 * Where a drained host's addresses stand on every director, for `ctl drain --wait`: done when
 * every director answered and each of its entries for the host is at weight 0 (or out of the
 * table) with no active connection.
 */
export function drainProgress(status: StatusResponse, addresses: readonly string[]): DrainProgress {
  const mine = new Set(addresses);
  const rows: DrainRow[] = [];
  const silent: string[] = [];
  for (const d of status.directors) {
    if (d.error && !d.services.length) silent.push(d.host);
    for (const s of d.services) {
      for (const r of s.realServers) {
        if (r.sorry || !mine.has(r.address)) continue;
        rows.push({ director: d.host, service: s.service, realServer: r.realServer, liveWeight: r.liveWeight, activeConn: r.activeConn });
      }
    }
  }
  return { rows, silent, done: !silent.length && !rows.some(busy) };
}

/** `server2 tcp:172.25.7.200:80 172.25.7.3:80: 2 active (weight 0)`, for the rows still busy. */
export function progressText(p: DrainProgress): string {
  const parts = p.rows.filter(busy).map((r) => `${r.director} ${r.service} ${r.realServer}: ${r.activeConn ?? '?'} active (weight ${r.liveWeight ?? 'absent'})`);
  for (const d of p.silent) parts.push(`${d}: no answer`);
  return parts.join('; ');
}
