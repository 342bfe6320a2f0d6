import { age } from '../common/age.js';
import { StatusResponseSchema, type RealServerStatus, type ServiceStatus } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { ViewSnapshotSchema, type ViewSnapshot } from '../common/view.js';
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
  return [r.realServer, r.forwarding ?? '-', num(r.declaredWeight), num(r.liveWeight), r.note, r.check ?? '', last, r.lastResult ?? '', num(r.activeConn), num(r.inActConn), num(r.cps)];
}

/** Every agent as the live view shows it: state, heartbeat, roles, open findings, last run. */
function agentLines(v: ViewSnapshot): string[] {
  if (!v.agents.length) return ['no agent has connected yet'];
  const rows = [['HOST', 'STATE', 'HEARTBEAT', 'LOAD', 'ROLES', 'DRIFT', 'LAST RUN']];
  for (const a of v.agents) {
    const run = a.lastRun ? `${a.lastRun.status} ${a.lastRun.label}${a.lastRun.check ? ' check' : ''} (${a.lastRun.id})` : '';
    rows.push([a.name, a.state, a.heartbeatAgeMs === null ? 'never' : `${age(a.heartbeatAgeMs)} ago`, a.load1 === undefined ? '' : a.load1.toFixed(2), a.roles.join(',') || '-', String(a.findings.length), run]);
  }
  return table(rows).split('\n');
}

function findingLines(v: ViewSnapshot): string[] {
  const rows = [['HOST', 'TASK', 'FINDING', 'SINCE']];
  for (const a of v.agents) for (const f of a.findings) rows.push([a.name, f.role ? `${f.role} : ${f.task}` : f.task, f.text, f.firstSeen.replace('T', ' ').slice(0, 19)]);
  return rows.length > 1 ? table(rows).split('\n') : ['no open drift findings'];
}

/**
 * `ctl status`: what the live view shows, in the terminal: every agent; per director, each
 * virtual service and its real servers as health and the kernel see them; open drift findings.
 */
export async function statusCommand(flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const c = await clientFor(flags);
  const [st, view] = await Promise.all([c.get('/api/status', StatusResponseSchema), c.get('/api/view', ViewSnapshotSchema)]);
  if (flags.json) return out(JSON.stringify({ ...st, agents: view.agents }, null, 2)), EXIT.ok;
  const lines: string[] = ['AGENTS', ...agentLines(view), '', 'DIRECTORS'];
  for (const d of st.directors) {
    lines.push(`${d.host}${d.at !== undefined ? `  (as of ${clock(d.at)})` : ''}${d.error ? `  ${d.error}` : ''}`);
    for (const s of d.services) {
      lines.push(serviceLine(s));
      const rows = [['    REAL SERVER', 'FWD', 'DECLARED', 'LIVE', 'STATE', 'CHECK', 'LAST CHECK', 'RESULT', 'ACTIVE', 'INACT', 'CPS'], ...s.realServers.map((r) => row(r))];
      rows.slice(1).forEach((r) => (r[0] = `    ${r[0]}`));
      lines.push(table(rows));
    }
  }
  if (!st.directors.length) lines.push('no director answered (no agent holds an IPVS service)');
  for (const h of st.drained) lines.push(`drained: ${h.host} (${h.addresses.join(', ')}) since ${h.at}`);
  lines.push('', 'OPEN DRIFT FINDINGS', ...findingLines(view));
  out(lines.join('\n'));
  return EXIT.ok;
}
