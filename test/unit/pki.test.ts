import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import { fingerprintMatches, generateKeyPair, SIGN_ALG, x509 } from '../../common/x509.js';
import { ApiTokens } from '../../controller/auth/api-tokens.js';
import { initController } from '../../controller/pki/init.js';
import { Pki, pkiPaths } from '../../controller/pki/pki.js';
import { agentRequest, anyFileContains, modes, tempDir } from '../helpers/pki.js';

const YEAR = 365 * 86_400_000;

async function controller(sans = ['ctl.example', '10.1.2.3', '127.0.0.1']) {
  const t = tempDir('lvst-pki-');
  const data = path.join(t.dir, 'data');
  const init = await initController(data, sans);
  return { ...t, data, init, pki: await Pki.open(data) };
}

test('init makes a CA, a server certificate for the names and addresses, and an admin token stored hashed, all private', async (t) => {
  const c = await controller();
  t.teardown(c.cleanup);
  const p = pkiPaths(c.data);
  const ca = new X509Certificate(readFileSync(p.caCert));
  const server = new X509Certificate(readFileSync(p.serverCert));
  t.true(ca.ca);
  t.true(server.checkIssued(ca) && server.verify(ca.publicKey), 'node verifies the server certificate against the CA');
  t.false(server.ca);
  t.is(server.subjectAltName, 'DNS:ctl.example, IP Address:10.1.2.3, IP Address:127.0.0.1');
  t.is(server.checkIP('10.1.2.3'), '10.1.2.3');
  t.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  t.is(c.init.caFingerprint, ca.fingerprint256, 'the fingerprint is the one openssl and node print');
  t.true(fingerprintMatches(ca.toString(), `sha256:${ca.fingerprint256.replace(/:/g, '').toLowerCase()}`));
  t.false(fingerprintMatches(ca.toString(), '00'.repeat(32)));

  const m = modes(c.data);
  t.is(statSync(c.data).mode & 0o777, 0o700);
  t.is(m.pki, 0o700);
  t.is(m.auth, 0o700);
  for (const secret of ['pki/ca.key', 'pki/server.key', 'pki/certs.json', 'auth/api-tokens.json']) t.is(m[secret], 0o600, secret);
  t.is(ApiTokens.open(c.data).verify(c.init.adminToken), 'admin');
  t.false(anyFileContains(c.data, c.init.adminToken), 'the token itself is written nowhere');
});

test('init refuses a folder that already has a CA and changes nothing', async (t) => {
  const c = await controller();
  t.teardown(c.cleanup);
  const before = readFileSync(pkiPaths(c.data).caKey, 'utf8');
  const e = await t.throwsAsync(initController(c.data, ['x']), { instanceOf: CtlError });
  t.is(e.code, 'CTL_ERR_ALREADY_INITIALISED');
  t.is(readFileSync(pkiPaths(c.data).caKey, 'utf8'), before);
  t.deepEqual(ApiTokens.open(c.data).list().map((x) => x.name), ['admin']);
  await t.throwsAsync(initController(path.join(c.dir, 'other'), ['bad name!']), { message: /neither a host name nor an IP/ });
});

test('an agent CSR is signed into a client certificate for that host, with unique random serials', async (t) => {
  const c = await controller();
  t.teardown(c.cleanup);
  const ca = new X509Certificate(c.pki.caPem);
  const serials = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const host = `server${i}`;
    const { csr } = await agentRequest(c.dir, host);
    const issued = await c.pki.signAgentCsr(csr, host);
    const cert = new X509Certificate(issued.certPem);
    t.true(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    t.is(cert.subject, `CN=${host}`);
    t.is(cert.subjectAltName, `DNS:${host}`);
    t.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'client authentication only');
    t.regex(issued.serial, /^[0-9a-f]{32}$/);
    serials.add(issued.serial);
  }
  t.is(serials.size, 12);
  t.deepEqual(c.pki.agents().map((a) => a.host).length, 12);
});

test('a CSR is refused unless it verifies and names exactly the requested host', async (t) => {
  const c = await controller();
  t.teardown(c.cleanup);
  const { csr } = await agentRequest(c.dir, 'server3');
  await t.throwsAsync(c.pki.signAgentCsr(csr, 'server2'), { instanceOf: CtlError, message: /names 'server3, server3', not 'server2'/ });
  // A byte of the signature flipped: the request no longer proves possession of its key.
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(csr).rawData);
  der[der.length - 5]! ^= 0x01;
  await t.throwsAsync(c.pki.signAgentCsr(x509.PemConverter.encode(der, 'CERTIFICATE REQUEST'), 'server3'), { message: /signature does not verify|cannot be parsed/ });
  // CN right but a DNS name for another host.
  const keys = await generateKeyPair();
  const sneaky = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=server3',
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'server3' }, { type: 'dns', value: 'controller' }])],
  });
  await t.throwsAsync(c.pki.signAgentCsr(sneaky.toString('pem'), 'server3'), { instanceOf: CtlError });
  await t.throwsAsync(c.pki.signAgentCsr('not a csr', 'server3'), { message: /cannot be parsed/ });
  await t.throwsAsync(c.pki.signAgentCsr(csr, '../etc'), { message: /host name/ });
  await t.throwsAsync(c.pki.signAgentCsr((await agentRequest(c.dir, 'ok', 'proto')).csr, '__proto__'), { message: /host name/ });
  t.deepEqual(c.pki.agents(), [], 'nothing was issued');
});

test('peer check: accepts a current certificate and names its host; refuses everything else with a reason', async (t) => {
  const c = await controller();
  t.teardown(c.cleanup);
  const der = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);
  const { csr } = await agentRequest(c.dir, 'server2');
  const good = await c.pki.signAgentCsr(csr, 'server2');
  const ok = await c.pki.checkPeer(der(good.certPem));
  t.like(ok, { ok: true, host: 'server2', serial: good.serial });

  const refusal = async (raw: Uint8Array | undefined, claimed?: string) => {
    const r = await c.pki.checkPeer(raw, claimed !== undefined ? { claimed } : {});
    return r.ok ? 'accepted' : r.refusal;
  };
  t.is(await refusal(undefined), 'no-certificate');
  t.is(await refusal(new Uint8Array([1, 2, 3])), 'malformed');
  t.is(await refusal(der(good.certPem), 'server3'), 'name-mismatch');

  const keys = await generateKeyPair();
  const self = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=server2', keys, signingAlgorithm: SIGN_ALG, notBefore: new Date(Date.now() - 1000), notAfter: new Date(Date.now() + YEAR) });
  t.is(await refusal(new Uint8Array(self.rawData)), 'untrusted');

  const other = await controller();
  t.teardown(other.cleanup);
  const foreign = await other.pki.signAgentCsr((await agentRequest(other.dir, 'server2')).csr, 'server2');
  t.is(await refusal(der(foreign.certPem)), 'untrusted', 'a certificate from another CA, even with the same name');

  t.is(await refusal(der(readFileSync(c.pki.paths.serverCert, 'utf8'))), 'not-client', "the controller's own certificate is no agent's");

  const past = await Pki.open(c.data, { clock: () => new Date(Date.now() - 2 * YEAR) });
  const old = await past.signAgentCsr((await agentRequest(c.dir, 'server4')).csr, 'server4');
  t.is(await refusal(der(old.certPem)), 'expired');

  // server2 enrolls again with a new key: the old certificate no longer speaks for it.
  const again = await c.pki.signAgentCsr((await agentRequest(c.dir, 'server2', 'server2-new')).csr, 'server2');
  t.like(await c.pki.checkPeer(der(again.certPem)), { ok: true, host: 'server2' });
  t.is(await refusal(der(good.certPem)), 'revoked');
});

test('renewal gives a new certificate for the same key; revocation refuses all of a host, also after a restart', async (t) => {
  const c = await controller();
  t.teardown(c.cleanup);
  const der = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);
  const first = await c.pki.signAgentCsr((await agentRequest(c.dir, 'server3')).csr, 'server3');
  const renewed = await c.pki.renew(first.certPem);
  t.not(renewed.serial, first.serial);
  t.is(renewed.host, 'server3');
  t.deepEqual(new x509.X509Certificate(renewed.certPem).publicKey.rawData, new x509.X509Certificate(first.certPem).publicKey.rawData);
  t.true(renewed.notAfter.getTime() >= first.notAfter.getTime());
  t.like(await c.pki.checkPeer(der(renewed.certPem)), { ok: true });
  t.like(await c.pki.checkPeer(der(first.certPem)), { ok: true }, 'the previous certificate of the same key stays valid until it expires');

  const revoked = await c.pki.revoke('server3');
  t.deepEqual(revoked.sort(), [first.serial, renewed.serial].sort());
  const reopened = await Pki.open(c.data);
  for (const pem of [first.certPem, renewed.certPem]) t.like(await reopened.checkPeer(der(pem)), { ok: false, refusal: 'revoked', definitive: true });
  t.like(reopened.agents()[0], { host: 'server3', state: 'revoked' });
  await t.throwsAsync(reopened.renew(renewed.certPem), { message: /renewal refused: .*revoked/ });
  await t.throwsAsync(reopened.revoke('server9'), { instanceOf: CtlError, message: /server9/ });
  t.is(modes(c.data)['pki/certs.json'], 0o600);
});

test('a data folder without a CA is refused with the command that makes one', async (t) => {
  const d = tempDir('lvst-pki-');
  t.teardown(d.cleanup);
  const e = await t.throwsAsync(Pki.open(d.dir), { instanceOf: CtlError });
  t.is(e.code, 'CTL_ERR_NOT_INITIALISED');
  t.regex(e.message, /ctl controller init/);
});
