import type { ViewAgent, ViewDirector, ViewEvent, ViewRealServer, ViewService, ViewSnapshot } from '../../common/view.js';
import { el, fmtAge, fmtBytes, fmtNum, fmtTime, fmtUptime, stateClass } from './browser-dom.js';

/** Renders of the health view's sections; standalone functions, sent to the browser by page.ts. */

export function table(head: string[], rows: HTMLElement[], cls: string): HTMLElement {
  return el('table', cls, el('thead', null, el('tr', null, ...head.map((h) => el('th', null, h)))), el('tbody', null, ...rows));
}

/** A cell whose age text the page advances every second without a new snapshot. */
export function ageCell(ms: number | null): HTMLElement {
  const td = el('td', 'num age', fmtAge(ms));
  if (ms !== null) td.dataset.ageMs = String(ms);
  return td;
}

export function findingsCell(a: ViewAgent): HTMLElement {
  if (!a.findings.length) return el('td', 'muted', 'none');
  const list = el('ul', 'findings', ...a.findings.map((f) => el('li', null, f.text, el('span', 'muted', ` (${f.role ? `${f.role} / ` : ''}${f.task}, since ${fmtTime(f.firstSeen)})`))));
  return el('td', null, el('span', 'badge warn', `${a.findings.length} open`), list);
}

export function lastRunCell(a: ViewAgent): HTMLElement {
  const r = a.lastRun;
  if (!r) return el('td', 'muted', 'none');
  return el(
    'td',
    null,
    el('span', stateClass(r.status), r.status),
    ' ',
    el('span', stateClass(r.label), r.label),
    r.check ? el('span', 'muted', ' check') : null,
    el('div', 'muted small', `${r.title}${r.finishedAt ? ` · ${fmtTime(r.finishedAt)}` : ''}`),
  );
}

export function renderAgents(agents: ViewAgent[]): HTMLElement {
  const rows = agents.map((a) =>
    el(
      'tr',
      `agent state-${a.state === 'online' ? 'online' : a.state === 'unresponsive' ? 'unresponsive' : a.state === 'revoked' ? 'revoked' : 'offline'}`,
      el('th', 'host', a.name, a.address ? el('div', 'muted small', a.address) : null),
      el('td', null, el('span', stateClass(a.state), a.state)),
      ageCell(a.heartbeatAgeMs),
      el('td', null, a.os ? `${a.os.distro} ${a.os.release}` : '–', a.os ? el('div', 'muted small', a.os.kernel) : null),
      el('td', 'num', fmtNum(a.load1, 2)),
      el('td', 'num', a.memory ? `${fmtBytes(a.memory.total - a.memory.free)} / ${fmtBytes(a.memory.total)}` : '–'),
      el('td', 'num', a.uptimeS === undefined ? '–' : fmtUptime(a.uptimeS)),
      el('td', 'roles', ...a.roles.map((r) => el('span', 'role', r))),
      findingsCell(a),
      lastRunCell(a),
    ),
  );
  if (!rows.length) rows.push(el('tr', null, el('td', 'muted', 'no agent has connected yet')));
  return table(['host', 'state', 'heartbeat', 'OS / kernel', 'load', 'memory used', 'uptime', 'roles', 'drift', 'last run'], rows, 'agents');
}

export function realServerRow(r: ViewRealServer, now: number): HTMLElement {
  const state = r.drained ? 'drained' : r.health.state;
  const checked = r.health.lastCheck ? `${fmtAge(Math.max(0, now - Date.parse(r.health.lastCheck)))} ago${r.health.checkMs !== undefined ? `, ${fmtNum(r.health.checkMs)} ms` : ''}` : '–';
  return el(
    'tr',
    `rs state-${state === 'up' ? 'up' : state === 'down' ? 'down' : state === 'drained' ? 'drained' : 'unknown'}`,
    el('th', 'host', r.address, r.host ? el('div', 'muted small', r.host) : null),
    el('td', null, r.forwarding ?? '–'),
    el('td', 'num', `${r.weight.live === null ? '–' : r.weight.live} / ${r.weight.declared}`),
    el('td', null, el('span', stateClass(state), state), r.health.reason ? el('div', 'small', r.health.reason) : null),
    el('td', 'num', checked),
    el('td', 'num', fmtNum(r.activeConn)),
    el('td', 'num', fmtNum(r.inactConn)),
    el('td', 'num', fmtNum(r.connRate)),
  );
}

export function serviceBlock(s: ViewService, now: number): HTMLElement {
  const up = s.realServers.filter((r) => r.health.state !== 'down' && !r.drained).length;
  const title = el(
    'h4',
    null,
    s.label,
    el('span', 'muted', ` ${s.scheduler} · ${up}/${s.realServers.length} serving · ${fmtNum(s.connRate)} conn/s`),
    s.sorry ? el('span', 'badge bad', 'sorry server') : null,
  );
  const rows = s.realServers.map((r) => realServerRow(r, now));
  return el('div', 'service', title, table(['real server', 'fwd', 'weight live / declared', 'health', 'last check', 'ActiveConn', 'InActConn', 'conn/s'], rows, 'rs'));
}

export function renderDirectors(directors: ViewDirector[], now: number): HTMLElement {
  if (!directors.length) return el('p', 'muted', 'no director reports virtual services');
  return el('div', null, ...directors.map((d) => el('section', 'director', el('h3', null, d.host), ...d.services.map((s) => serviceBlock(s, now)))));
}

export function renderEvents(events: ViewEvent[]): HTMLElement {
  if (!events.length) return el('p', 'muted', 'nothing happened yet');
  return el(
    'ol',
    'events',
    ...events.map((e) => el('li', `event level-${e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : 'info'}`, el('time', 'muted', fmtTime(e.at)), el('span', stateClass(e.level), e.kind), e.host ? el('b', null, e.host) : null, el('span', 'text', e.text))),
  );
}

/** The summary line: what a wall screen must say at a glance. */
export function renderSummary(v: ViewSnapshot): HTMLElement {
  const online = v.agents.filter((a) => a.state === 'online').length;
  const findings = v.agents.reduce((n, a) => n + a.findings.length, 0);
  const rs = v.directors.flatMap((d) => d.services.flatMap((s) => s.realServers));
  const down = rs.filter((r) => r.health.state === 'down').length;
  return el(
    'p',
    'summary',
    el('span', online === v.agents.length ? 'badge ok' : 'badge warn', `${online}/${v.agents.length} agents online`),
    el('span', findings ? 'badge warn' : 'badge ok', `${findings} drift finding${findings === 1 ? '' : 's'}`),
    el('span', down ? 'badge bad' : 'badge ok', `${down}/${rs.length} real servers down`),
  );
}
