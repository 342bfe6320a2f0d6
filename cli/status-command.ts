import { age } from '../common/age.js';
import { EXIT } from '../common/errors.js';
import { ViewSnapshotSchema, type ViewSnapshot } from '../common/view.js';
import { clientFor, type EndpointFlags } from './client.js';
import { color, out, table } from './output.js';

const paintState = (s: string) => (s === 'online' ? color.ok(s) : s === 'unresponsive' ? color.changed(s) : color.failed(s));

function agentsSection(v: ViewSnapshot): string[] {
  if (!v.agents.length) return ['AGENTS', 'no agent has connected yet'];
  const rows = [['HOST', 'STATE', 'HEARTBEAT', 'LOAD', 'ROLES', 'DRIFT', 'LAST RUN']];
  for (const a of v.agents) {
    const run = a.lastRun ? `${a.lastRun.status} ${a.lastRun.label}${a.lastRun.check ? ' check' : ''} (${a.lastRun.id})` : '';
    rows.push([a.name, a.state, a.heartbeatAgeMs === null ? 'never' : `${age(a.heartbeatAgeMs)} ago`, a.load1 === undefined ? '' : a.load1.toFixed(2), a.roles.join(',') || '-', String(a.findings.length), run]);
  }
  return ['AGENTS', ...table(rows).split('\n').map((l, i) => (i === 0 ? l : l.replace(/\b(online|unresponsive|offline|revoked)\b/, paintState)))];
}

function findingsSection(v: ViewSnapshot): string[] {
  const rows = [['HOST', 'TASK', 'FINDING', 'SINCE']];
  for (const a of v.agents) for (const f of a.findings) rows.push([a.name, f.role ? `${f.role} : ${f.task}` : f.task, f.text, f.firstSeen.replace('T', ' ').slice(0, 19)]);
  return ['OPEN DRIFT FINDINGS', rows.length > 1 ? table(rows) : 'none'];
}

// ---- DIRECTORS: the health-check work (`ctl status` for directors) replaces this section with
// its own, with health states and reasons; this one shows what the directors' agents report.
function directorsSection(v: ViewSnapshot): string[] {
  if (!v.directors.length) return ['DIRECTORS', 'none reported'];
  const lines = ['DIRECTORS'];
  for (const d of v.directors) {
    for (const s of d.services) {
      lines.push(`${d.host}  ${s.label} ${s.scheduler}${s.connRate !== null ? `  ${s.connRate} conn/s` : ''}`);
      const rows = [['  REAL SERVER', 'WEIGHT', 'HEALTH', 'ACTIVE', 'INACTIVE', 'CONN/S']];
      for (const r of s.realServers) {
        rows.push([`  ${r.address}${r.host ? ` (${r.host})` : ''}`, `${r.weight.live ?? '-'} / ${r.weight.declared}`, r.health.state + (r.health.reason ? ` (${r.health.reason})` : ''), String(r.activeConn ?? '-'), String(r.inactConn ?? '-'), String(r.connRate ?? '-')]);
      }
      lines.push(table(rows));
    }
  }
  return lines;
}
// ---- end of DIRECTORS

/** `ctl status`: what the live view shows, in the terminal: agents, directors, open drift findings. */
export async function statusCommand(flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const v = await (await clientFor(flags)).get('/api/view', ViewSnapshotSchema);
  if (flags.json) return out(JSON.stringify(v, null, 2)), EXIT.ok;
  out([...agentsSection(v), '', ...directorsSection(v), '', ...findingsSection(v)].join('\n'));
  return EXIT.ok;
}
