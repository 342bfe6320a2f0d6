import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildController, type Controller } from '../../controller/app.js';
import { REPO } from '../helpers/procs.js';

let ctl: Controller;
const data = mkdtempSync(path.join(os.tmpdir(), 'lvst-routes-'));
const auth = { authorization: 'Bearer t0ken' };

test.before(async () => {
  ctl = await buildController({ dataDir: data, token: 't0ken', projectDir: REPO });
});
test.after.always(async () => {
  await ctl.close();
  rmSync(data, { recursive: true, force: true });
});

test('every API route but health wants the token', async (t) => {
  t.is((await ctl.app.inject({ url: '/api/health' })).statusCode, 200);
  const res = await ctl.app.inject({ url: '/api/agents' });
  t.is(res.statusCode, 401);
  t.is(res.json().error.code, 'CTL_ERR_UNAUTHORIZED');
  t.is((await ctl.app.inject({ url: '/api/agents', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  t.deepEqual((await ctl.app.inject({ url: '/api/agents', headers: auth })).json(), []);
});

test('a run request with a bad inventory is refused with file and code, and nothing is started', async (t) => {
  const res = await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role: 'httpd', hosts: 'all', inventory: 'inventory/nope.yml' } });
  t.is(res.statusCode, 400);
  t.is(res.json().error.code, 'CTL_ERR_INVENTORY_NOT_FOUND');
  t.regex(res.json().error.line, /inventory\/nope\.yml/);
  t.deepEqual((await ctl.app.inject({ url: '/api/runs', headers: auth })).json(), []);
});

test('malformed request bodies are 400 usage errors', async (t) => {
  const res = await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'shell', inventory: 'x' } });
  t.is(res.statusCode, 400);
  t.is(res.json().error.code, 'CTL_ERR_USAGE');
});

test('a run on hosts without agents records them unreachable', async (t) => {
  const res = await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role: 'httpd', hosts: 'realservers', inventory: 'inventory/dr.yml' } });
  t.is(res.statusCode, 201, res.body);
  const { id } = res.json();
  const events = (await ctl.app.inject({ url: `/api/runs/${id}/events`, headers: auth })).body.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(events.filter((e) => e.type === 'host').map((e) => [e.host, e.status]), [['server3', 'unreachable'], ['server4', 'unreachable']]);
  t.deepEqual(events.at(-1).recap.server3, { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 1 });
  t.is((await ctl.app.inject({ url: '/api/runs/ffffffff', headers: auth })).statusCode, 404);
});

test('lint refuses a broken cluster and names host and variable', async (t) => {
  const res = await ctl.app.inject({
    method: 'POST',
    url: '/api/lint',
    headers: auth,
    payload: { kind: 'playbook', playbook: 'site.yml', inventory: 'inventory/nat.yml', extraVars: { lvs_director_address: '172.25.7.9' } },
  });
  t.is(res.statusCode, 200);
  t.deepEqual(
    res.json().issues.map((i: { host: string; field: string }) => `${i.host}/${i.field}`),
    ['server3/lvs_director_address', 'server4/lvs_director_address'],
  );
});

test('the health view is a page with no data of its own; its snapshot is behind a login, and a token in a URL logs nobody in', async (t) => {
  const anon = await ctl.app.inject({ url: '/?token=t0ken' });
  t.is(anon.statusCode, 200);
  t.regex(anon.body, /<form id="login" method="post" action="\/login" hidden>/);
  t.is((await ctl.app.inject({ url: '/api/view' })).statusCode, 401);
  t.is((await ctl.app.inject({ url: '/api/view?token=t0ken' })).statusCode, 401, 'a token in the URL is not taken');

  const login = await ctl.app.inject({ method: 'POST', url: '/login', payload: { token: 't0ken' } });
  t.is(login.statusCode, 200, login.body);
  const cookie = login.cookies.find((c) => c.name === 'lvsctl_session')!;
  t.like(cookie, { httpOnly: true, sameSite: 'Strict', path: '/' });
  const view = await ctl.app.inject({ url: '/api/view', cookies: { lvsctl_session: cookie.value } });
  t.is(view.statusCode, 200);
  t.deepEqual(view.json().agents, []);
  const res = await ctl.app.inject({ url: '/' });
  t.is(res.statusCode, 200);
  t.regex(res.headers['content-type'] as string, /text\/html/);
  t.regex(res.body, /<h2>Agents<\/h2>/);
  t.is((await ctl.app.inject({ url: '/api/view', headers: auth })).statusCode, 200, 'and behind the API token (ctl status)');
});
