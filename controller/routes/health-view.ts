import type { FastifyInstance } from 'fastify';
import { age } from '../../common/age.js';
import type { AgentHub } from '../hub.js';
import { loginPage, LOGOUT_BUTTON } from './login-page.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The agents' health as a plain server-rendered page that refreshes itself. Behind a login
 * (session cookie from /login); a browser without one gets the form.
 */
export function healthView(app: FastifyInstance, hub: AgentHub): void {
  app.get('/', async (req, reply) => {
    if (!req.apiSubject) return loginPage(reply);
    const rows = hub
      .agents()
      .map((a) => {
        const f = a.facts as { os?: { distro?: string; release?: string; kernel?: string } } | undefined;
        const h = a.health;
        return `<tr class="${a.online ? 'up' : 'down'}"><td>${esc(a.name)}</td><td>${a.online ? 'online' : 'offline'}</td><td>${esc(age(a.heartbeatAgeMs))}</td><td>${esc(a.address)}</td><td>${esc(f?.os?.distro)} ${esc(f?.os?.release)}</td><td>${esc(f?.os?.kernel)}</td><td>${h ? h.load1.toFixed(2) : ''}</td><td>${h ? Math.round(h.memFree / 2 ** 20) + ' MiB' : ''}</td></tr>`;
      })
      .join('\n');
    reply.type('text/html; charset=utf-8');
    return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>lvsctl agents</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}.up td:nth-child(2){color:#070}.down td:nth-child(2){color:#b00}</style></head>
<body>${LOGOUT_BUTTON}<h1>Agents</h1><table><thead><tr><th>host</th><th>state</th><th>last heartbeat</th><th>address</th><th>OS</th><th>kernel</th><th>load</th><th>free memory</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="8">no agent has connected yet</td></tr>'}
</tbody></table></body></html>`;
  });
}
