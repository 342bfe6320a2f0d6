import test from 'ava';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { loadIdentity, saveIdentity, tlsClientOptions, type AgentIdentity } from '../../agent/identity.js';
import { generateKeyPair, privateKeyPem, SIGN_ALG, x509 } from '../../common/x509.js';
import { initController } from '../../controller/pki/init.js';
import { Pki } from '../../controller/pki/pki.js';
import { agentRequest, tempDir } from '../helpers/pki.js';

/**
 * Real TLS on loopback: the controller's certificate and CA, agents' client certificates, and
 * the peer check deciding on what the TLS layer hands over (`getPeerCertificate().raw`).
 */
const YEAR = 365 * 86_400_000;
const tmp = tempDir('lvst-tls-');
test.after.always(() => tmp.cleanup());

async function newController(name: string) {
  const data = path.join(tmp.dir, name);
  await initController(data, ['127.0.0.1']);
  return Pki.open(data);
}

async function enrolled(pki: Pki, host: string, state = `${host}-${Math.random()}`): Promise<AgentIdentity> {
  const req = await agentRequest(tmp.dir, host, state);
  const issued = await pki.signAgentCsr(req.csr, host);
  await saveIdentity(req.stateDir, issued.certPem, pki.caPem);
  return loadIdentity(req.stateDir)!;
}

interface Verdict {
  ok: boolean;
  host?: string;
  refusal?: string;
}

/** A server as the controller runs it: client certificates asked for, judged by checkPeer. */
async function serve(pki: Pki, opts: Partial<tls.TlsOptions> = {}) {
  const received: string[] = [];
  const server = tls.createServer({ ...pki.serverTlsOptions(), ...opts }, async (socket) => {
    socket.on('data', (d) => received.push(String(d)));
    const r = await pki.checkPeer(socket.getPeerCertificate(true)?.raw);
    socket.end(JSON.stringify(r.ok ? { ok: true, host: r.host } : { ok: false, refusal: r.refusal }) + '\n');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Connects, and reads the server's verdict or the TLS error. */
function dial(port: number, opts: tls.ConnectionOptions): Promise<Verdict | { error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...opts });
    let buf = '';
    s.on('data', (d) => (buf += String(d)));
    s.on('end', () => resolve(buf ? (JSON.parse(buf) as Verdict) : { error: 'closed without a verdict' }));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

async function foreignIdentity(host: string, notAfter = new Date(Date.now() + YEAR)): Promise<{ cert: string; key: string }> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${host}`, keys, signingAlgorithm: SIGN_ALG, notBefore: new Date(Date.now() - YEAR), notAfter });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

test('mutual TLS: an enrolled agent is accepted as its host; no, self-signed, foreign, expired and revoked certificates are refused', async (t) => {
  const pki = await newController('main');
  const server = await serve(pki);
  t.teardown(server.close);
  const ca = pki.caPem;

  const good = await enrolled(pki, 'server2');
  t.deepEqual(await dial(server.port, tlsClientOptions(good)), { ok: true, host: 'server2' });

  t.deepEqual(await dial(server.port, { ca, rejectUnauthorized: true }), { ok: false, refusal: 'no-certificate' });

  const self = await foreignIdentity('server2');
  t.deepEqual(await dial(server.port, { ca, ...self }), { ok: false, refusal: 'untrusted' });

  const other = await newController('other');
  t.deepEqual(await dial(server.port, { ca, ...pick(await enrolled(other, 'server2')) }), { ok: false, refusal: 'untrusted' });

  const pastPki = await Pki.open(path.join(tmp.dir, 'main'), { clock: () => new Date(Date.now() - 2 * YEAR) });
  t.deepEqual(await dial(server.port, { ca, ...pick(await enrolled(pastPki, 'server4')) }), { ok: false, refusal: 'expired' });

  const doomed = await enrolled(pki, 'server3');
  t.deepEqual(await dial(server.port, tlsClientOptions(doomed)), { ok: true, host: 'server3' });
  await pki.revoke('server3');
  t.deepEqual(await dial(server.port, tlsClientOptions(doomed)), { ok: false, refusal: 'revoked' });
});

test('node agrees at the handshake where it can: a strict server refuses self-signed, foreign and expired certificates, but only the peer check knows revocations', async (t) => {
  const pki = await newController('strict');
  const server = await serve(pki, { rejectUnauthorized: true });
  t.teardown(server.close);
  const ca = pki.caPem;
  const refusedAtHandshake = async (opts: tls.ConnectionOptions) => 'error' in (await dial(server.port, opts));
  t.true(await refusedAtHandshake({ ca, ...(await foreignIdentity('server2')) }));
  t.true(await refusedAtHandshake({ ca, ...pick(await enrolled(await newController('strict-other'), 'server2')) }));
  const past = await Pki.open(path.join(tmp.dir, 'strict'), { clock: () => new Date(Date.now() - 2 * YEAR) });
  t.true(await refusedAtHandshake({ ca, ...pick(await enrolled(past, 'server4')) }));

  const revoked = await enrolled(pki, 'server3');
  await pki.revoke('server3');
  t.deepEqual(await dial(server.port, tlsClientOptions(revoked)), { ok: false, refusal: 'revoked' }, 'the handshake passes; the peer check refuses');
});

test('an agent pinned to its CA sends nothing to a server with another CA, or with a certificate for another name', async (t) => {
  const pki = await newController('pinned');
  const agent = await enrolled(pki, 'server2');
  const rogue = await newController('rogue');
  const rogueServer = await serve(rogue);
  t.teardown(rogueServer.close);

  const sendToken = (port: number, opts: tls.ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ port, ...opts }, () => s.write('enrollment-token-secret'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on('end', () => resolve('connected'));
    });
  t.regex(await sendToken(rogueServer.port, { host: '127.0.0.1', ...tlsClientOptions(agent) }), /CERT|SIGNATURE|ISSUER/);
  t.deepEqual(rogueServer.received, [], 'the rogue server received no byte of application data');

  const real = await serve(pki);
  t.teardown(real.close);
  t.is(await sendToken(real.port, { host: 'localhost', ...tlsClientOptions(agent) }), 'ERR_TLS_CERT_ALTNAME_INVALID', 'the certificate must name the address dialled');
  t.deepEqual(real.received, []);
});

function pick(id: AgentIdentity): { cert: string; key: string } {
  return { cert: id.certPem, key: id.keyPem };
}
