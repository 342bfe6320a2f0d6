import type { FastifyReply } from 'fastify';

/**
 * The form a browser without a session gets at `/`. The token goes in a POST body to /login
 * (JSON, by the script), never into a URL: the form's own fallback is a POST too, which the
 * controller refuses (415) rather than turning it into a query string.
 */
export function loginPage(reply: FastifyReply): string {
  reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
  return `<!doctype html><html><head><meta charset="utf-8"><title>lvsctl: log in</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}input{width:32em}</style></head>
<body><h1>lvsctl</h1><form id="login" method="post" action="/login">
<label>API token <input id="token" name="token" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button> <span id="msg"></span></form>
<script>
document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = document.getElementById('token').value;
  const r = await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), credentials: 'same-origin' });
  if (r.ok) location.reload();
  else document.getElementById('msg').textContent = r.status === 401 ? 'wrong token' : 'login failed (' + r.status + ')';
});
</script></body></html>`;
}

/** A logout button for pages behind the login. */
export const LOGOUT_BUTTON = `<form id="logout" method="post" action="/logout" style="float:right"><button type="submit">Log out</button></form>
<script>document.getElementById('logout').addEventListener('submit', async (e) => { e.preventDefault(); await fetch('/logout', { method: 'POST', credentials: 'same-origin' }); location.reload(); });</script>`;
