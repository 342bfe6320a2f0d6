import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { saveIdentity } from '../../agent/identity.js';
import { exec } from '../../common/exec.js';
import { PROTOCOL_VERSION } from '../../common/protocol.js';
import { generateKeyPair, privateKeyPem, SIGN_ALG, x509 } from '../../common/x509.js';
import { initController } from '../../controller/pki/init.js';
import { Pki } from '../../controller/pki/pki.js';
import { agentRequest } from '../helpers/pki.js';
import { AGENT, CTL, Procs, waitFor } from '../helpers/procs.js';
import {
  copyState,
  ctlAt,
  fingerprintOf,
  freePort,
  lines,
  logged,
  rogueController,
  startAgent,
  writeGateBin,
  writeProject,
  writeState,
  type Identity,
} from '../helpers/security-env.js';

/**
 * Issue 9 end to end, attacker's view: real controller and agent processes on loopback, real
 * TLS, real certificates. One controller for the file (restarted once, by the last tests);
 * the tests run in order and each leaves what the next needs.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lvst-security-'));
const data = path.join(tmp, 'data');
const tokenFile = path.join(tmp, 'admin-token');
const caFile = path.join(data, 'pki', 'ca.crt');
const project = path.join(tmp, 'project');
const gate = path.join(tmp, 'gate');
const bin = path.join(tmp, 'bin');
const outside = path.join(tmp, 'outside');
const MARKER = path.join(tmp, 'pwned');
const JS = `return process.getBuiltinModule('fs').writeFileSync('${MARKER}', 'pwned')`;
const PAYLOAD = `{{ range.constructor("${JS}")() }}`;
const SECRET = 'OUTSIDE-SECRET: root:x:0:0';
const YEAR = 365 * 86_400_000;

const procs = new Procs();
let url = '';
let port = 0;
let ctl: ReturnType<typeof ctlAt>;
/** Every secret handed out in this file: none may appear in a log, a URL or `ps`. */
const secrets: string[] = [];
const ids: Record<'selfSigned' | 'foreign' | 'expired' | 'revoked', Identity> = {} as never;
let controllerName = 'controller';
let closeRogue: (() => Promise<void>) | undefined;

const state = (host: string) => path.join(tmp, 'state', host);
const root = (host: string) => path.join(tmp, 'roots', host);
const agentEnv = (host: string) => ({ PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, GATE_HOST: host });
const controllerLines = () => lines(procs.log('controller') + procs.log('controller-2'));

function startController(name: string): void {
  controllerName = name;
  procs.start(name, process.execPath, [CTL, 'controller', 'start', '--data', data, '--port', String(port), '--listen', '127.0.0.1', '--project', project]);
}

async function online(names: string[]): Promise<void> {
  await waitFor(`${names.join(', ')} online`, async () => {
    const r = await ctl(['agents', '--json']);
    if (r.code !== 0) return undefined;
    const agents = JSON.parse(r.stdout) as { name: string; online: boolean; facts?: unknown }[];
    return names.every((n) => agents.some((a) => a.name === n && a.online && a.facts)) ? true : undefined;
  });
}

async function enrollToken(args: string[]): Promise<string> {
  const r = await ctl(['agents', 'token', ...args, '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  const token = (JSON.parse(r.stdout) as { token: string }).token;
  secrets.push(token);
  return token;
}

function tokenFileWith(name: string, token: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, token, { mode: 0o600 });
  return f;
}

async function issued(pki: Pki, host: string, validity: { notBefore?: Date; notAfter?: Date } = {}, ca = pki.caPem): Promise<Identity> {
  const req = await agentRequest(tmp, host, `prep-${host}-${Math.random()}`);
  const cert = await pki.signAgentCsr(req.csr, host, validity);
  return { ca, cert: cert.certPem, key: req.keyPem };
}

test.before(async () => {
  writeProject(project, PAYLOAD);
  writeGateBin(bin, gate);
  mkdirSync(gate);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'victim'), `${SECRET}\n`, { mode: 0o600 });
  port = await freePort();
  url = `https://127.0.0.1:${port}`;
  const init = await exec(process.execPath, [CTL, 'controller', 'init', '--data', data, '--san', '127.0.0.1', '--admin-token-file', tokenFile]);
  if (init.code !== 0) throw new Error(init.stderr);
  secrets.push(readFileSync(tokenFile, 'utf8').trim());
  ctl = ctlAt(url, caFile, tokenFile, tmp);

  // Certificates an attacker might hold, made before the controller starts (it reads certs.json then).
  const pki = await Pki.open(data);
  ids.expired = await issued(pki, 'server6', { notBefore: new Date(Date.now() - 2 * YEAR), notAfter: new Date(Date.now() - YEAR) });
  ids.revoked = await issued(pki, 'server7');
  await pki.revoke('server7');
  const renewer = await issued(pki, 'renewer', { notAfter: new Date(Date.now() + 10 * 86_400_000) });
  writeState(state('renewer'), renewer);
  await initController(path.join(tmp, 'other-ca'), ['127.0.0.1']);
  ids.foreign = await issued(await Pki.open(path.join(tmp, 'other-ca')), 'server2', {}, pki.caPem);
  const keys = await generateKeyPair();
  const self = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=server5', keys, signingAlgorithm: SIGN_ALG, notBefore: new Date(Date.now() - YEAR), notAfter: new Date(Date.now() + YEAR) });
  ids.selfSigned = { ca: pki.caPem, cert: self.toString('pem'), key: await privateKeyPem(keys.privateKey) };

  startController('controller');
  await waitFor('controller', async () => ((await ctl(['agents'])).code === 0 ? true : undefined), 30_000);
  const enroll = tokenFileWith('enroll-servers', await enrollToken(['--hosts', 'server[2:4]', '--uses', '3']));
  const fp = fingerprintOf(caFile);
  for (const h of ['server2', 'server3', 'server4']) {
    mkdirSync(root(h), { recursive: true });
    startAgent(procs, h, ['--controller', url, '--name', h, '--root', root(h), '--state', state(h), '--ca-fingerprint', fp, '--enroll-token-file', enroll], agentEnv(h));
  }
  await online(['server2', 'server3', 'server4']);
});

test.after.always(async () => {
  await closeRogue?.();
  await procs.stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** A hand-driven agent connection with these credentials, and what became of it. */
function dial(id: Partial<Identity>, claimed: string): Promise<{ error: string; data?: { refusal?: string; definitive?: boolean } } | { connected: true }> {
  return new Promise((resolve) => {
    const s = io(url, { auth: { name: claimed, protocol: PROTOCOL_VERSION }, ca: id.ca, ...(id.cert ? { cert: id.cert, key: id.key } : {}), rejectUnauthorized: true, transports: ['websocket'], reconnection: false });
    // Buffered until connected: were the connection accepted, these facts would be stored.
    s.emit('facts', { hostname: `intruder-${claimed}` } as never);
    s.on('connect', () => {
      s.close();
      resolve({ connected: true });
    });
    s.on('connect_error', (e: Error & { data?: { refusal?: string; definitive?: boolean } }) => {
      s.close();
      resolve({ error: e.message, ...(e.data ? { data: e.data } : {}) });
    });
  });
}

const refusals = () => controllerLines().filter((l) => l.msg === 'agent refused');

test.serial('no, self-signed, foreign, expired and revoked certificates are refused before any event, each refusal logged', async (t) => {
  const before = refusals().length;
  const cases: [string, Partial<Identity>, string, string][] = [
    ['no certificate', { ca: ids.expired.ca }, 'server9', 'no-certificate'],
    ['self-signed', ids.selfSigned, 'server5', 'untrusted'],
    ['another CA', ids.foreign, 'server2', 'untrusted'],
    ['expired', ids.expired, 'server6', 'expired'],
    ['revoked', ids.revoked, 'server7', 'revoked'],
  ];
  for (const [what, id, claimed, refusal] of cases) {
    const r = await dial(id, claimed);
    t.true('error' in r, `${what}: refused`);
    if ('error' in r) t.is(r.data?.refusal, refusal, what);
  }
  const lines5 = await waitFor('five refusals logged', async () => (refusals().length - before >= 5 ? refusals().slice(before) : undefined), 10_000);
  t.deepEqual(lines5.map((l) => [l.agent, l.refusal, l.peer]), cases.map(([, , claimed, refusal]) => [claimed, refusal, '127.0.0.1']));
  t.true(lines5.filter((l) => l.refusal !== 'no-certificate').every((l) => typeof l.serial === 'string'), 'the serial of each presented certificate is logged');
  t.true(lines5.find((l) => l.refusal === 'revoked')!.definitive as boolean, 'a revoked certificate is refused for good');

  const agents = JSON.parse((await ctl(['agents', '--json'])).stdout) as { name: string; online: boolean; facts?: { hostname?: string } }[];
  t.deepEqual(agents.map((a) => a.name).sort(), ['server2', 'server3', 'server4'], 'no refused connection reached the hub');
  t.false(agents.some((a) => a.facts?.hostname?.startsWith('intruder-')), 'no event of a refused connection was heard');
  t.true(agents.find((a) => a.name === 'server2')!.online, 'the real server2 kept its connection');
});

test.serial('server3\'s certificate claiming server2 is refused; the real server2 keeps its connection and its job', async (t) => {
  const connected = () => controllerLines().filter((l) => l.msg === 'agent connected' && l.agent === 'server2').length;
  const before = connected();
  rmSync(path.join(gate, 'open'), { force: true });
  const run = ctl(['run', 'role', 'gate', '--hosts', 'server2', '-i', 'inventory.ini']);
  await waitFor('server2 at the gate', async () => (existsSync(path.join(gate, 'started-server2')) ? true : undefined));
  // A copy of server3's real, enrolled identity, started as server2.
  copyState(state('server3'), state('impostor'));
  mkdirSync(root('impostor'), { recursive: true });
  startAgent(procs, 'impostor', ['--controller', url, '--name', 'server2', '--root', root('impostor'), '--state', state('impostor')], agentEnv('impostor'));
  const refused = await logged(procs, controllerName, (l) => l.msg === 'agent refused' && l.refusal === 'name-mismatch', 'name-mismatch refusal');
  t.like(refused, { agent: 'server2', certHost: 'server3', peer: '127.0.0.1', definitive: true });
  const said = await logged(procs, 'impostor', (l) => l.refusal === 'name-mismatch', 'impostor told why');
  t.true((said.retryInMs as number) >= 45_000, 'a definitive refusal backs off to minutes');
  await procs.kill('impostor');

  writeFileSync(path.join(gate, 'open'), '');
  const r = await run;
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /server2\s+: ok=\d+\s+changed=1\s+unreachable=0\s+failed=0/);
  t.is(readFileSync(path.join(root('server2'), 'etc/gate-passed'), 'utf8'), 'server2\n', 'the job ran on the real server2');
  t.false(existsSync(path.join(root('impostor'), 'etc/gate-passed')));
  t.is(connected(), before, 'server2 was never replaced');
  t.false(controllerLines().some((l) => l.msg === 'agent disconnected' && (l.agent === 'server2' || l.agent === 'server3')));
});

test.serial('a rogue TLS server with its own CA gets no token and no handshake, and cannot send a task', async (t) => {
  const rogue = await rogueController(path.join(tmp, 'rogue'), { path: '/etc/rogue.txt' });
  closeRogue = rogue.close;
  // An enrolled agent (server4's identity) sent to the rogue.
  copyState(state('server4'), state('lured'));
  mkdirSync(root('lured'), { recursive: true });
  startAgent(procs, 'lured', ['--controller', rogue.url, '--name', 'server4', '--root', root('lured'), '--state', state('lured')]);
  // A new agent enrolling there with a real token and our CA's fingerprint.
  const token = await enrollToken(['--hosts', 'newhost']);
  mkdirSync(root('newhost'), { recursive: true });
  startAgent(procs, 'newhost', ['--controller', rogue.url, '--name', 'newhost', '--root', root('newhost'), '--state', state('newhost'), '--ca-fingerprint', fingerprintOf(caFile), '--enroll-token-file', tokenFileWith('enroll-newhost', token)]);

  const failed = await logged(procs, 'lured', (l) => l.msg === 'cannot connect', 'TLS failure');
  t.regex(String(failed.cause ?? failed.reason), /CERT|SIGN|ISSUER|websocket/);
  const enrollFail = await logged(procs, 'newhost', (l) => l.msg === 'enrollment failed', 'CA mismatch');
  t.regex(String(enrollFail.reason), /offers no CA with fingerprint/);
  await waitFor('both gave up a handshake twice', async () => (rogue.seen.tlsErrors >= 2 ? true : undefined));
  await procs.kill('lured');
  await procs.kill('newhost');

  t.deepEqual(rogue.seen.handshakes, [], 'no socket.io handshake (no name, no token) reached the rogue');
  t.deepEqual(rogue.seen.requests, [], 'no HTTP request (no CSR, no token) reached the rogue');
  t.is(rogue.seen.sent, 0, 'the rogue had no connection to send a task on');
  t.false(existsSync(path.join(root('lured'), 'etc/rogue.txt')));
  t.false(existsSync(path.join(state('newhost'), 'agent.crt')));

  // Plain http is refused by the agent itself unless asked for by name.
  const plain = await exec(process.execPath, [AGENT, '--controller', `http://127.0.0.1:${port}`, '--state', state('plain')]);
  t.is(plain.code, 5);
  t.regex(plain.stderr, /plain http: the agent speaks TLS only .*--insecure/);
});

test.serial('enrollment: a token used twice, expired or for another host is refused and logged; without a token the request waits for accept or reject', async (t) => {
  const fp = fingerprintOf(caFile);
  const agent = (name: string, extra: string[] = [], ca = ['--ca-fingerprint', fp]) => {
    mkdirSync(root(name), { recursive: true });
    startAgent(procs, name, ['--controller', url, '--name', name, '--root', root(name), '--state', state(name), ...ca, ...extra]);
  };
  const once = tokenFileWith('enroll-once', await enrollToken(['--hosts', 'late[1:2]', '--uses', '1']));
  agent('late1', ['--enroll-token-file', once]);
  await online(['late1']);
  agent('late2', ['--enroll-token-file', once]);
  const expired = tokenFileWith('enroll-expired', await enrollToken(['--hosts', 'late3', '--ttl', '1s']));
  await waitFor('token expired', async () => ((await tokenStates()).includes('expired') ? true : undefined));
  agent('late3', ['--enroll-token-file', expired]);
  agent('outsider', ['--enroll-token-file', tokenFileWith('enroll-pattern', await enrollToken(['--hosts', 'server[2:4]']))]);

  const refusedFor = (host: string) => logged(procs, controllerName, (l) => l.msg === 'enrollment refused' && l.host === host, `${host} refused`);
  t.regex(String((await refusedFor('late2')).reason), /already used \(by late1 at/);
  t.regex(String((await refusedFor('late3')).reason), /expired at/);
  t.regex(String((await refusedFor('outsider')).reason), /is for hosts 'server\[2:4\]', not 'outsider'/);
  for (const h of ['late2', 'late3', 'outsider']) {
    const l = controllerLines().find((x) => x.msg === 'enrollment refused' && x.host === h)!;
    t.like(l, { refusal: 'token', peer: '127.0.0.1', definitive: true }, h);
    t.regex(String(l.tokenId), /^[0-9a-f]{8}$/, 'the token id is logged, never the token');
    t.like(await logged(procs, h, (x) => x.msg.startsWith('enrollment refused for good'), 'told why'), { refusal: 'token' });
    t.false(existsSync(path.join(state(h), 'agent.crt')));
    await procs.kill(h);
  }

  // The CA as a file copied from the controller, the other way to pin it.
  agent('web1', [], ['--ca', caFile]);
  agent('web2');
  const pending = await waitFor('two pending', async () => {
    const list = JSON.parse((await ctl(['agents', 'pending', '--json'])).stdout) as { host: string; key: string }[];
    return list.length === 2 ? list : undefined;
  });
  t.deepEqual(pending.map((p) => p.host).sort(), ['web1', 'web2']);
  t.regex((await ctl(['agents'])).stdout, /web1\s+pending \(ctl agents accept\)/);
  t.is((await ctl(['agents', 'accept', 'web1'])).code, 0);
  t.is((await ctl(['agents', 'reject', 'web2'])).code, 0);
  await online(['web1']);
  t.like(await logged(procs, 'web2', (l) => l.msg.startsWith('enrollment refused for good'), 'web2 rejected', 60_000), { refusal: 'rejected' });
  await procs.kill('web2');
  t.false(existsSync(path.join(state('web2'), 'agent.crt')));
  t.is(statSync(path.join(state('web1'), 'agent.key')).mode & 0o777, 0o600, 'the agent made its key 0600; it never left its state folder');
});

async function tokenStates(): Promise<string[]> {
  const body = await apiGet('/api/enroll-tokens');
  return (JSON.parse(body.text) as { state: string }[]).map((x) => x.state);
}

test.serial('a certificate close to expiry is renewed over mutual TLS, without enrolling again', async (t) => {
  const before = readFileSync(path.join(state('renewer'), 'agent.crt'), 'utf8');
  mkdirSync(root('renewer'), { recursive: true });
  startAgent(procs, 'renewer', ['--controller', url, '--name', 'renewer', '--root', root('renewer'), '--state', state('renewer')]);
  const renewed = await logged(procs, 'renewer', (l) => l.msg === 'certificate renewed', 'renewed');
  t.like(await logged(procs, controllerName, (l) => l.msg === 'certificate renewed', 'renewal logged'), { host: 'renewer', serial: renewed.serial });
  const after = readFileSync(path.join(state('renewer'), 'agent.crt'), 'utf8');
  t.not(after, before);
  t.true(new x509.X509Certificate(after).notAfter.getTime() > Date.now() + 300 * 86_400_000);
  await online(['renewer']);
  t.false(controllerLines().some((l) => l.msg === 'agent enrolled' && l.host === 'renewer'), 'no enrollment');
});

test.serial('template escapes in -e, inventory vars and role defaults are template errors through a real controller; nothing runs', async (t) => {
  const runs = async () => (JSON.parse((await ctl(['runs', '--json'])).stdout) as unknown[]).length;
  const before = await runs();
  const e = await ctl(['run', 'role', 'note', '--hosts', 'server2', '-i', path.join(project, 'inventory.ini'), '-e', `p=/${PAYLOAD}`]);
  t.is(e.code, 4, e.stderr);
  t.regex(e.stderr, /^ERROR! -e p: variable 'p': 'constructor' is not available in templates/);
  const inv = path.join(tmp, 'evil-inventory.yml');
  writeFileSync(inv, `all:\n  hosts:\n    server2:\n      evil: ${JSON.stringify(PAYLOAD)}\n`);
  const i = await ctl(['run', 'role', 'note', '--hosts', 'server2', '-i', inv]);
  t.is(i.code, 4, i.stderr);
  t.regex(i.stderr, /evil-inventory\.yml:3: evil: .*constructor/, 'the file and the line of the host');
  const d = await ctl(['run', 'role', 'evil', '--hosts', 'server2', '-i', path.join(project, 'inventory.ini')]);
  t.is(d.code, 4, d.stderr);
  t.regex(d.stderr, /roles\/evil\/defaults\.yml:1: evil: .*constructor/);
  t.false(existsSync(MARKER), 'no payload ran on the controller');
  t.is(await runs(), before, 'no run was started');
  t.false(existsSync(path.join(root('server2'), 'etc/evil')));
});

function apiRequest(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${p}`, { method, ca: readFileSync(caFile), headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}
const bearer = () => ({ authorization: `Bearer ${secrets[0]}` });
const apiGet = (p: string) => apiRequest('GET', p, undefined, bearer());

test.serial('the API reads only the project: /etc/passwd and ../../x are 400 naming the field, nothing read', async (t) => {
  writeFileSync(path.join(outside, 'secret.ini'), `[x]\n${SECRET}\n`);
  await exec('mkfifo', [path.join(outside, 'pipe.ini')]);
  const rel = path.relative(project, outside);
  const cases: [Record<string, unknown>, string][] = [
    [{ inventory: '/etc/passwd' }, 'inventory'],
    [{ inventory: '../../x' }, 'inventory'],
    [{ inventory: `${rel}/secret.ini` }, 'inventory'],
    // Reading a FIFO with no writer would never return: a prompt 400 shows nothing opened it.
    [{ inventory: `${rel}/pipe.ini` }, 'inventory'],
    [{ kind: 'playbook', playbook: '/etc/passwd', inventory: 'inventory.ini' }, 'playbook'],
  ];
  for (const [body, field] of cases) {
    for (const route of ['/api/lint', '/api/runs']) {
      const res = await apiRequest('POST', route, { kind: 'role', role: 'note', hosts: 'all', ...body }, bearer());
      t.is(res.status, 400, `${route} ${JSON.stringify(body)}`);
      const err = JSON.parse(res.text).error;
      t.is(err.code, 'CTL_ERR_PATH_OUTSIDE_PROJECT');
      t.is(err.where.field, field);
      t.false(res.text.includes('root:x:0:0'), 'no line of the file in the answer');
    }
  }
});

test.serial('symlinks under --root: write, delete, chmod and diff through them are refused, the outside untouched and in no record', async (t) => {
  const r2 = root('server2');
  mkdirSync(path.join(r2, 'etc'), { recursive: true });
  symlinkSync(outside, path.join(r2, 'etc/linkdir'));
  symlinkSync(path.join(outside, 'victim'), path.join(r2, 'etc/linkfile'));
  const inv = path.join(project, 'inventory.ini');
  for (const [role, extra] of [['escape-write', []], ['escape-delete', []], ['escape-chmod', []], ['escape-diff', ['--check', '--diff']]] as const) {
    const r = await ctl(['run', 'role', role, '--hosts', 'server2', '-i', inv, ...extra]);
    t.is(r.code, 2, `${role}: ${r.stdout}${r.stderr}`);
    t.regex(r.stdout, /escapes the agent root via symlink/, role);
    const id = (JSON.parse((await ctl(['runs', '--json'])).stdout) as { id: string }[])[0]!.id;
    const record = (await ctl(['runs', 'show', id, '--json'])).stdout;
    t.false(record.includes(SECRET) || r.stdout.includes(SECRET), `${role}: the outside content is in no record`);
  }
  t.false(existsSync(path.join(outside, 'planted')));
  t.is(readFileSync(path.join(outside, 'victim'), 'utf8'), `${SECRET}\n`);
  t.is(statSync(path.join(outside, 'victim')).mode & 0o777, 0o600);
});

test.serial('ctl agents revoke during a run: the host is cut off at once, the others finish; it stays refused, also after a restart', async (t) => {
  rmSync(path.join(gate, 'open'), { force: true });
  for (const h of ['server2', 'server3', 'server4']) rmSync(path.join(gate, `started-${h}`), { force: true });
  const run = ctl(['run', 'role', 'gate', '--hosts', 'server[2:4]', '-i', path.join(project, 'inventory.ini')]);
  await waitFor('all three at the gate', async () => (['server2', 'server3', 'server4'].every((h) => existsSync(path.join(gate, `started-${h}`))) ? true : undefined));
  const revoke = await ctl(['agents', 'revoke', 'server3']);
  t.is(revoke.code, 0, revoke.stderr);
  t.regex(revoke.stdout, /revoked server3: 1 certificate, its connection closed/);
  await logged(procs, controllerName, (l) => l.msg === 'agent disconnected' && l.agent === 'server3', 'server3 cut off');
  writeFileSync(path.join(gate, 'open'), '');
  const r = await run;
  t.is(r.code, 3, r.stdout + r.stderr);
  t.regex(r.stdout, /fatal: \[server3\]: UNREACHABLE!/);
  t.regex(r.stdout, /server2\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
  t.regex(r.stdout, /server4\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
  const refusedNow = await logged(procs, 'server3', (l) => l.refusal === 'revoked', 'server3 told it is revoked');
  t.regex(String(refusedNow.reason), /is revoked/);

  await procs.kill(controllerName, 'SIGTERM');
  startController('controller-2');
  await online(['server2', 'server4']);
  startAgent(procs, 'server3-again', ['--controller', url, '--name', 'server3', '--root', root('server3'), '--state', state('server3')]);
  t.like(await logged(procs, 'controller-2', (l) => l.msg === 'agent refused' && l.agent === 'server3', 'refused after restart'), { refusal: 'revoked', definitive: true });
  await logged(procs, 'server3-again', (l) => l.refusal === 'revoked', 'told again');
  t.regex((await ctl(['agents'])).stdout, /server3\s+offline\s+.*revoked/);
  t.false(lines(procs.log('controller-2')).some((l) => l.msg === 'agent connected' && l.agent === 'server3'));
});

test.serial('no token in ps, in a log line, or in any URL of the health page; login sets a strict session cookie', async (t) => {
  // A dev controller and agent too: their shared token comes from a file, never argv.
  const devData = path.join(tmp, 'dev');
  const devToken = 'dev-token-' + Math.random().toString(36).slice(2);
  secrets.push(devToken);
  const devTokenFile = tokenFileWith('dev-token', devToken);
  const devPort = await freePort();
  procs.start('dev-controller', process.execPath, [CTL, 'controller', 'start', '--insecure-http', '--token-file', devTokenFile, '--data', devData, '--port', String(devPort), '--project', project]);
  startAgent(procs, 'dev-agent', ['--controller', `http://127.0.0.1:${devPort}`, '--insecure', '--token-file', devTokenFile, '--name', 'devhost', '--root', root('devhost')]);
  await logged(procs, 'dev-controller', (l) => l.msg === 'agent connected' && l.agent === 'devhost', 'dev agent connected');
  t.truthy(lines(procs.log('dev-controller')).find((l) => l.level === 40 && /INSECURE/.test(l.msg)), 'the dev controller says it is insecure');
  t.truthy(lines(procs.log('dev-agent')).find((l) => l.level === 40 && /INSECURE/.test(l.msg)));

  const ps = (await exec('ps', ['-eww', '-o', 'args'])).stdout;
  t.true(ps.includes('dist/agent/main.js') && ps.includes('controller start'), 'agents and controllers are running');
  for (const s of secrets) t.false(ps.includes(s), 'no token in ps');

  const page = await apiRequest('GET', `/?token=${secrets[0]}`);
  t.is(page.status, 200);
  t.regex(page.text, /<form id="login" method="post" action="\/login"( hidden)?>/);
  t.notRegex(page.text, /server2/, 'a token in the URL shows nothing');
  const urls = (html: string) => [...html.matchAll(/(?:href|src|action)="([^"]*)"|fetch\('([^']*)'/g)].map((m) => m[1] ?? m[2]!);
  const bad = await apiRequest('POST', '/login', { token: 'wrong' });
  t.is(bad.status, 401);
  const login = await apiRequest('POST', '/login', { token: secrets[0] });
  t.is(login.status, 200);
  const cookie = String(login.headers['set-cookie']);
  t.regex(cookie, /^lvsctl_session=[A-Za-z0-9_-]+;/);
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) t.true(cookie.includes(attr), attr);
  // The page holds no data: the signed-in session reads the cluster from /api/view (and /view's socket).
  const agentsPage = await apiRequest('GET', '/api/view', undefined, { cookie: cookie.split(';')[0]! });
  t.is(agentsPage.status, 200);
  t.regex(agentsPage.text, /"name":"server2"/);
  t.is((await apiRequest('GET', `/api/view?token=${secrets[0]}`)).status, 401, 'a token in the URL shows nothing');
  const script = await apiRequest('GET', '/view.js');
  for (const u of [...urls(page.text), ...urls(script.text)]) {
    t.false(/token/i.test(u) || secrets.some((s) => u.includes(s)), `URL ${u}`);
  }
  t.is((await apiRequest('GET', `/api/agents?token=${secrets[0]}`)).status, 401, 'a token in a query string is not a credential');
  const missing = await apiRequest('GET', `/api/nothing?token=${secrets[0]}&x=%3Cscript%3E`, undefined, bearer());
  t.is(missing.status, 404);
  t.false(missing.text.includes(secrets[0]!) || missing.text.includes('script'), 'a 404 names the route, not its query string');
  t.regex(JSON.parse(missing.text).error.message, /^no route GET \/api\/nothing$/);

  const allLogs = ['controller', 'controller-2', 'dev-controller', 'dev-agent', 'server2', 'server3', 'server4', 'late1', 'late2', 'web1', 'newhost'].map((n) => procs.log(n)).join('\n');
  for (const s of secrets) t.false(allLogs.includes(s), 'no token in any log line');
});
