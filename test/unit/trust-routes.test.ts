import test from 'ava';
import path from 'node:path';
import { ApiTokens } from '../../controller/auth/api-tokens.js';
import { buildController, type Controller } from '../../controller/app.js';
import { initController } from '../../controller/pki/init.js';
import { agentRequest, tempDir } from '../helpers/pki.js';
import { REPO } from '../helpers/procs.js';

/** The trust routes of a TLS controller, through `app.inject()`. */
const tmp = tempDir('lvst-trust-routes-');
test.after.always(() => tmp.cleanup());

async function controller(t: import('ava').ExecutionContext): Promise<{ ctl: Controller; data: string; auth: { authorization: string } }> {
  const data = path.join(tmp.dir, String(Math.random()));
  const init = await initController(data, ['127.0.0.1']);
  const ctl = await buildController({ dataDir: data, projectDir: REPO });
  t.teardown(() => ctl.close());
  return { ctl, data, auth: { authorization: `Bearer ${init.adminToken}` } };
}

test('a data folder without a CA is refused unless the controller is the insecure dev one', async (t) => {
  const data = path.join(tmp.dir, 'bare');
  await t.throwsAsync(buildController({ dataDir: data, projectDir: REPO }), { message: /no CA in .*run ctl controller init/ });
  const dev = await buildController({ dataDir: data, projectDir: REPO, token: 'dev' });
  t.teardown(() => dev.close());
  const res = await dev.app.inject({ url: '/api/agents/certificates', headers: { authorization: 'Bearer dev' } });
  t.is(res.statusCode, 409);
  t.is(res.json().error.code, 'CTL_ERR_NO_TLS');
});

test('the API takes a bearer header only: a token in the query string is no credential, and a 404 does not echo it', async (t) => {
  const { ctl, auth } = await controller(t);
  const token = auth.authorization.slice(7);
  t.is((await ctl.app.inject({ url: `/api/agents?token=${token}` })).statusCode, 401);
  t.is((await ctl.app.inject({ url: '/api/agents', headers: { authorization: token } })).statusCode, 401, 'not without "Bearer"');
  t.is((await ctl.app.inject({ url: '/api/agents', headers: auth })).statusCode, 200);
  t.is((await ctl.app.inject({ url: '/api/health' })).statusCode, 200, 'health needs no token');
  const missing = await ctl.app.inject({ url: `/api/nope?token=${token}&q=<b>`, headers: auth });
  t.is(missing.statusCode, 404);
  t.is(missing.json().error.code, 'CTL_ERR_ROUTE_NOT_FOUND');
  t.is(missing.json().error.message, 'no route GET /api/nope');
});

test('named API tokens: created once, listed without secrets, revoked with their sessions; a token made on the folder is seen at once', async (t) => {
  const { ctl, data, auth } = await controller(t);
  const made = await ctl.app.inject({ method: 'POST', url: '/api/tokens', headers: auth, payload: { name: 'ci' } });
  t.is(made.statusCode, 200);
  const ci = made.json().token as string;
  t.regex(ci, /^lvsctl_api_/);
  const list = (await ctl.app.inject({ url: '/api/tokens', headers: auth })).json() as { name: string }[];
  t.deepEqual(list.map((x) => x.name), ['admin', 'ci']);
  t.false(JSON.stringify(list).includes(ci));

  const login = await ctl.app.inject({ method: 'POST', url: '/login', payload: { token: ci } });
  const cookie = login.cookies.find((c) => c.name === 'lvsctl_session')!;
  t.like(cookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
  t.is((await ctl.app.inject({ url: '/api/agents', cookies: { lvsctl_session: cookie.value } })).statusCode, 200, 'the session works for the page\'s API calls');

  t.is((await ctl.app.inject({ method: 'DELETE', url: '/api/tokens/ci', headers: auth })).statusCode, 200);
  t.is((await ctl.app.inject({ url: '/api/agents', headers: { authorization: `Bearer ${ci}` } })).statusCode, 401);
  t.is((await ctl.app.inject({ url: '/api/agents', cookies: { lvsctl_session: cookie.value } })).statusCode, 401, 'revoking a token ends its sessions');

  // `ctl controller token create --data DIR` next to the running controller.
  const local = await ApiTokens.open(data).create('local');
  t.is((await ctl.app.inject({ url: '/api/agents', headers: { authorization: `Bearer ${local}` } })).statusCode, 200);
  t.is((await ctl.app.inject({ method: 'POST', url: '/logout', cookies: { lvsctl_session: cookie.value } })).statusCode, 200);
});

test('enrollment: a token signs at once and is spent; without one the request is pending until accept; reject and revoke are final', async (t) => {
  const { ctl, auth } = await controller(t);
  const tok = (await ctl.app.inject({ method: 'POST', url: '/api/enroll-tokens', headers: auth, payload: { hosts: 'server[2:3]', ttlSeconds: 60 } })).json();
  t.like(tok, { hosts: 'server[2:3]', uses: 1 });
  const enroll = async (host: string, token?: string) => {
    const req = await agentRequest(tmp.dir, host, `${host}-${Math.random()}`);
    return ctl.app.inject({ method: 'POST', url: '/api/enroll', payload: { host, csr: req.csr, ...(token ? { token } : {}) } });
  };
  const ok = await enroll('server2', tok.token);
  t.is(ok.statusCode, 200);
  t.like(ok.json(), { status: 'issued', host: 'server2' });
  const again = await enroll('server3', tok.token);
  t.is(again.statusCode, 403);
  t.like(again.json().error, { code: 'CTL_ERR_ENROLLMENT_REFUSED', refusal: 'token', definitive: true });
  t.regex(again.json().error.message, /already used \(by server2/);

  const req = await agentRequest(tmp.dir, 'server4', 'server4-pending');
  const ask = () => ctl.app.inject({ method: 'POST', url: '/api/enroll', payload: { host: 'server4', csr: req.csr } });
  t.is((await ask()).statusCode, 202);
  t.deepEqual(((await ctl.app.inject({ url: '/api/agents/pending', headers: auth })).json() as { host: string }[]).map((r) => r.host), ['server4']);
  t.is((await ctl.app.inject({ method: 'POST', url: '/api/agents/server4/accept', headers: auth })).statusCode, 200);
  t.like((await ask()).json(), { status: 'issued', host: 'server4' });

  await enroll('server5');
  t.is((await ctl.app.inject({ method: 'POST', url: '/api/agents/server5/reject', headers: auth })).statusCode, 200);

  const revoked = await ctl.app.inject({ method: 'POST', url: '/api/agents/server2/revoke', headers: auth });
  t.like(revoked.json(), { host: 'server2', disconnected: false });
  const certs = (await ctl.app.inject({ url: '/api/agents/certificates', headers: auth })).json() as { certificates: { host: string; state: string }[]; requests: { host: string; state: string }[] };
  t.deepEqual(certs.certificates.map((c) => [c.host, c.state]), [['server2', 'revoked'], ['server4', 'enrolled']]);
  t.deepEqual(certs.requests.map((r) => [r.host, r.state]), [['server5', 'rejected']]);
  t.is((await ctl.app.inject({ method: 'POST', url: '/api/agents/nobody/revoke', headers: auth })).statusCode, 404);
  t.is((await ctl.app.inject({ method: 'POST', url: '/api/agent/renew' })).statusCode, 403, 'renewal without a client certificate');
});
