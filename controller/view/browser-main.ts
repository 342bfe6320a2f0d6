import type { ViewSnapshot } from '../../common/view.js';
import { fmtAge } from './browser-dom.js';
import { renderAgents, renderDirectors, renderEvents, renderSummary } from './browser-render.js';

/** The socket.io browser client, served by the controller at /socket.io/socket.io.js. */
interface ViewSocket {
  on(event: 'snapshot', fn: (v: ViewSnapshot) => void): void;
  on(event: 'connect' | 'disconnect', fn: () => void): void;
  on(event: 'connect_error', fn: (e: Error) => void): void;
  close(): void;
}
declare const io: (nsp: string, opts: Record<string, unknown>) => ViewSocket;

/** Shows the connection state in the header. */
export function setStatus(text: string, level: 'ok' | 'warn' | 'bad'): void {
  const s = document.getElementById('status')!;
  s.className = `badge ${level}`;
  s.textContent = text;
}

/** Advances every age cell by the time since its snapshot arrived, so ages tick between pushes. */
export function tickAges(receivedAt: number): void {
  for (const td of Array.from(document.querySelectorAll<HTMLElement>('[data-age-ms]'))) {
    td.textContent = fmtAge(Number(td.dataset.ageMs) + Date.now() - receivedAt);
  }
}

export function renderView(v: ViewSnapshot): void {
  const now = Date.now();
  document.getElementById('summary')!.replaceChildren(renderSummary(v));
  document.getElementById('agents-body')!.replaceChildren(renderAgents(v.agents));
  document.getElementById('directors-body')!.replaceChildren(renderDirectors(v.directors, now));
  document.getElementById('events-body')!.replaceChildren(renderEvents(v.events));
  document.getElementById('generated')!.textContent = `snapshot ${new Date(v.generatedAt).toLocaleTimeString()}`;
}

/**
 * The page: loads a snapshot (GET /api/view), then takes each new one pushed on the `/view`
 * socket.io namespace. A 401 (or a socket refused as unauthorized) shows the login form, which
 * posts the token to /login; the session is an HttpOnly cookie the page never sees.
 */
export function viewMain(): void {
  const login = document.getElementById('login') as HTMLFormElement;
  const main = document.getElementById('main')!;
  const logout = document.getElementById('logout')!;
  let socket: ViewSocket | null = null;
  let receivedAt = Date.now();

  const show = (v: ViewSnapshot) => {
    receivedAt = Date.now();
    renderView(v);
  };
  const showLogin = (msg?: string) => {
    socket?.close();
    socket = null;
    main.hidden = true;
    logout.hidden = true;
    login.hidden = false;
    document.getElementById('login-error')!.textContent = msg ?? '';
    setStatus('signed out', 'warn');
    (login.elements.namedItem('token') as HTMLInputElement).focus();
  };
  const connect = () => {
    if (socket) return;
    socket = io('/view', { transports: ['websocket', 'polling'], withCredentials: true });
    socket.on('snapshot', show);
    socket.on('connect', () => setStatus('live', 'ok'));
    socket.on('disconnect', () => setStatus('reconnecting…', 'warn'));
    socket.on('connect_error', (e) => (/unauthori[sz]ed/i.test(e.message) ? showLogin() : setStatus('reconnecting…', 'warn')));
  };
  const load = async () => {
    let r: Response;
    try {
      r = await fetch('/api/view', { credentials: 'same-origin', headers: { accept: 'application/json' } });
    } catch {
      setStatus('controller unreachable', 'bad');
      setTimeout(load, 5000);
      return;
    }
    if (r.status === 401) return showLogin();
    if (!r.ok) {
      setStatus(`cannot load: HTTP ${r.status}`, 'bad');
      return;
    }
    login.hidden = true;
    main.hidden = false;
    logout.hidden = false;
    show((await r.json()) as ViewSnapshot);
    connect();
  };

  login.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const field = login.elements.namedItem('token') as HTMLInputElement;
    const r = await fetch('/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: field.value }),
    }).catch(() => null);
    field.value = '';
    if (!r) return showLogin('controller unreachable');
    if (!r.ok) return showLogin(r.status === 401 ? 'wrong token' : `login failed: HTTP ${r.status}`);
    await load();
  });
  logout.addEventListener('click', async () => {
    await fetch('/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => null);
    showLogin();
  });
  setInterval(() => tickAges(receivedAt), 1000);
  void load();
}
