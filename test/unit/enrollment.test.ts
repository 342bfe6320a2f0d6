import test from 'ava';
import path from 'node:path';
import { EnrollmentRequests } from '../../controller/auth/enrollment-requests.js';
import { EnrollmentTokens } from '../../controller/auth/enrollment-tokens.js';
import { Enrollment } from '../../controller/pki/enrollment.js';
import { initController } from '../../controller/pki/init.js';
import { Pki } from '../../controller/pki/pki.js';
import { x509 } from '../../common/x509.js';
import { agentRequest, tempDir } from '../helpers/pki.js';

async function setup() {
  const d = tempDir('lvst-enroll-');
  const data = path.join(d.dir, 'data');
  await initController(data, ['127.0.0.1']);
  const open = async () => {
    const pki = await Pki.open(data);
    const tokens = EnrollmentTokens.open(data);
    return { pki, tokens, enrollment: new Enrollment(pki, tokens, EnrollmentRequests.open(data)) };
  };
  return { ...d, data, open, ...(await open()) };
}

const der = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);

test('with a one-time token a CSR is signed at once; the token cannot enroll a second host', async (t) => {
  const s = await setup();
  t.teardown(s.cleanup);
  const { token } = await s.tokens.create({ hosts: 'server*' });
  const a = await agentRequest(s.dir, 'server2');
  const r = await s.enrollment.request({ host: 'server2', csr: a.csr, token, peer: '127.0.0.1' });
  t.is(r.kind, 'issued');
  if (r.kind !== 'issued') return;
  t.is(r.caPem, s.pki.caPem);
  t.like(await s.pki.checkPeer(der(r.cert.certPem)), { ok: true, host: 'server2' });

  const b = await agentRequest(s.dir, 'server3');
  t.like(await s.enrollment.request({ host: 'server3', csr: b.csr, token, peer: '127.0.0.1' }), { kind: 'refused', refusal: 'token', definitive: true });
  const outside = await s.tokens.create({ hosts: 'server*' });
  const c = await agentRequest(s.dir, 'db1');
  t.like(await s.enrollment.request({ host: 'db1', csr: c.csr, token: outside.token, peer: '127.0.0.1' }), { kind: 'refused', refusal: 'token' });
  t.deepEqual(s.pki.agents().map((x) => x.host), ['server2']);
});

test('without a token the request waits; accept signs it and the agent collects it; reject is final for that key', async (t) => {
  const s = await setup();
  t.teardown(s.cleanup);
  const a = await agentRequest(s.dir, 'server2');
  const first = await s.enrollment.request({ host: 'server2', csr: a.csr, peer: '10.0.0.2' });
  t.is(first.kind, 'pending');
  t.like(await s.enrollment.request({ host: 'server2', csr: a.csr, peer: '10.0.0.2' }), { kind: 'pending' }, 'asking again keeps waiting');
  const intruder = await agentRequest(s.dir, 'server2', 'intruder');
  t.like(await s.enrollment.request({ host: 'server2', csr: intruder.csr, peer: '10.0.0.66' }), { kind: 'refused', refusal: 'other-request' }, 'a second key cannot replace a pending request');

  // A controller restart in between: pending requests are kept.
  const again = await s.open();
  t.like(EnrollmentRequests.open(s.data).list('pending'), [{ host: 'server2', peer: '10.0.0.2' }]);
  const issued = await again.enrollment.accept('server2');
  const collected = await again.enrollment.request({ host: 'server2', csr: a.csr, peer: '10.0.0.2' });
  t.like(collected, { kind: 'issued', cert: { serial: issued.serial } });
  t.deepEqual(EnrollmentRequests.open(s.data).list(), [], 'collected requests are removed');

  const b = await agentRequest(s.dir, 'server3');
  await again.enrollment.request({ host: 'server3', csr: b.csr, peer: '10.0.0.3' });
  await again.enrollment.reject('server3');
  t.like(await again.enrollment.request({ host: 'server3', csr: b.csr, peer: '10.0.0.3' }), { kind: 'refused', refusal: 'rejected', definitive: true });
  await t.throwsAsync(again.enrollment.accept('server3'), { message: /no pending enrollment request for 'server3'/ });
});

test('an enrolled host cannot be taken over by a new key, and a revoked one comes back only through accept', async (t) => {
  const s = await setup();
  t.teardown(s.cleanup);
  const a = await agentRequest(s.dir, 'server2');
  const { token } = await s.tokens.create({ uses: 5 });
  t.is((await s.enrollment.request({ host: 'server2', csr: a.csr, token, peer: 'x' })).kind, 'issued');
  const thief = await agentRequest(s.dir, 'server2', 'thief');
  t.like(await s.enrollment.request({ host: 'server2', csr: thief.csr, token, peer: 'y' }), { kind: 'refused', refusal: 'already-enrolled', definitive: true });
  t.like(await s.enrollment.request({ host: 'server2', csr: thief.csr, peer: 'y' }), { kind: 'refused', refusal: 'already-enrolled' });

  await s.pki.revoke('server2');
  t.like(await s.enrollment.request({ host: 'server2', csr: a.csr, token, peer: 'x' }), { kind: 'refused', refusal: 'revoked' }, 'the revoked key');
  const fresh = await agentRequest(s.dir, 'server2', 'fresh');
  t.like(await s.enrollment.request({ host: 'server2', csr: fresh.csr, token, peer: 'x' }), { kind: 'refused', refusal: 'revoked' }, 'a token cannot undo a revocation');
  t.is((await s.enrollment.request({ host: 'server2', csr: fresh.csr, peer: 'x' })).kind, 'pending');
  const cert = await s.enrollment.accept('server2');
  t.like(await s.pki.checkPeer(der(cert.certPem)), { ok: true, host: 'server2' });
});

test('a CSR that does not match the host is refused before any token is spent', async (t) => {
  const s = await setup();
  t.teardown(s.cleanup);
  const { token, id } = await s.tokens.create();
  const a = await agentRequest(s.dir, 'server3');
  t.like(await s.enrollment.request({ host: 'server2', csr: a.csr, token, peer: 'x' }), { kind: 'refused', refusal: 'bad-csr' });
  t.like(s.tokens.list().find((x) => x.id === id), { state: 'valid' });
});
