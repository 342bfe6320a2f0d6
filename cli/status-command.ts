import { StatusResponseSchema, type RealServerStatus, type ServiceStatus } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { out, table } from './output.js';

const clock = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toTimeString().slice(0, 8));
const num = (n: number | null) => (n === null ? '-' : String(n));

/** `TCP 172.25.7.200:80`, as ipvsadm -L names a service. */
function label(key: string): string {
  return key.replace(/^(\w+):/, (_m, p: string) => `${p === 'fwm' ? 'FWM' : p.toUpperCase()} `);
}

function serviceLine(s: ServiceStatus): string {
  const q = s.quorum ? `  quorum ${s.quorum.quorum}${s.quorum.hysteresis ? `±${s.quorum.hysteresis}` : ''} ${s.quorum.held ? 'held' : 'LOST'} (live weight ${s.quorum.liveWeight})` : '  (not checked)';
  const sorry = s.sorryServer ? `  sorry server ${s.sorryServer.realServer} ${s.sorryServer.in ? 'IN' : 'out'}` : '';
  return `  ${label(s.service)} ${s.scheduler ?? ''}${q}${sorry}${s.cps !== null ? `  ${s.cps} conn/s` : ''}${s.missing ? '  MISSING from the kernel table' : ''}`;
}

function row(r: RealServerStatus): string[] {
  const last = r.lastCheckAt !== undefined ? `${clock(r.lastCheckAt)} (${Math.round(r.lastCheckMs ?? 0)} ms)` : '';
  return [r.realServer, num(r.declaredWeight), num(r.liveWeight), r.note, r.check ?? '', last, r.lastResult ?? '', num(r.activeConn), num(r.inActConn), num(r.cps)];
}

/** `ctl status`: per director, each virtual service and its real servers as health and the kernel see them. */
export async function statusCommand(flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const st = await (await clientFor(flags)).get('/api/status', StatusResponseSchema);
  if (flags.json) return out(JSON.stringify(st, null, 2)), EXIT.ok;
  const lines: string[] = [];
  for (const d of st.directors) {
    lines.push(`${d.host}${d.at !== undefined ? `  (as of ${clock(d.at)})` : ''}${d.error ? `  ${d.error}` : ''}`);
    for (const s of d.services) {
      lines.push(serviceLine(s));
      const rows = [['    REAL SERVER', 'DECLARED', 'LIVE', 'STATE', 'CHECK', 'LAST CHECK', 'RESULT', 'ACTIVE', 'INACT', 'CPS'], ...s.realServers.map((r) => row(r))];
      rows.slice(1).forEach((r) => (r[0] = `    ${r[0]}`));
      lines.push(table(rows));
    }
  }
  if (!st.directors.length) lines.push('no director answered (no agent holds an IPVS service)');
  for (const h of st.drained) lines.push(`drained: ${h.host} (${h.addresses.join(', ')}) since ${h.at}`);
  out(lines.join('\n'));
  return EXIT.ok;
}
