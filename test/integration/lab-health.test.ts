import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transitionBoundMs } from '../../agent/health/scheduler.js';
import type { ProbingCheck } from '../../agent/health/schema.js';
import { parseList } from '../../agent/ipvs/parse-list.js';
import ipvs from '../../agent/modules/ipvs.js';
import { exec } from '../../common/exec.js';
import { EXIT } from '../../common/errors.js';
import type { HealthEvent, StatusResponse } from '../../common/health-api.js';
import { eventLine } from '../../cli/events-command.js';
import { endTestLab, startTestLab, type TestLab } from '../helpers/lab.js';
import { CTL, REPO, waitFor } from '../helpers/procs.js';

/**
 * Real-server health checks on the real kernel (issue 11): the reference clusters converged by
 * the roles with their default http checks, then real servers stopped and started, drained,
 * deleted by hand, checked with tcp and exec. One lab boot for the file; the cases run in order
 * on it and each leaves both web servers running, the role's defaults applied and nothing
 * drained. DR first, then the same hosts switched to NAT.
 */

let lab: TestLab | undefined;
let bootError: unknown;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lvst-lab-health-'));

test.before(async (t) => {
  try {
    lab = await startTestLab({ mode: 'dr', log: (m) => t.log(m) });
  } catch (e) {
    bootError = e;
  }
});

test.after.always(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await endTestLab();
});

function theLab(): TestLab {
  if (!lab) throw new Error(`the lab did not come up: ${(bootError as Error)?.message ?? bootError}`);
  return lab;
}

const MODES = { dr: { vip: '172.25.7.200', inv: 'inventory/dr.yml', role: 'lvs-director-dr' }, nat: { vip: '172.25.254.100', inv: 'inventory/nat.yml', role: 'lvs-director-nat' } } as const;
type Mode = keyof typeof MODES;
let mode: Mode = 'dr';
const RS = { server3: '172.25.7.3', server4: '172.25.7.4' } as const;
type Rs = keyof typeof RS;
const other = (h: Rs): Rs => (h === 'server3' ? 'server4' : 'server3');

/**
 * How long a change may take to show in the kernel: the checker's own bound for the declared
 * timings (transitionBoundMs), plus the apply, which is one run of the ipvs task in the agent's
 * job queue (a few process starts, each 0.2-0.5 s under emulation, on a machine shared with
 * other work).
 */
const APPLY_SLACK_MS = 20_000;
function boundFor(check: Record<string, unknown>, to: 'up' | 'down'): number {
  const parsed = ipvs.schema.parse({ services: [{ address: '10.0.0.1', port: 80, healthcheck: check, realServers: [] }] });
  return transitionBoundMs(parsed.services[0].healthcheck as ProbingCheck, to) + APPLY_SLACK_MS;
}
const DEFAULT_CHECK = { type: 'http', path: '/' };

/** ctl's environment: the test lab's folder, nothing of the caller's controller. */
function ctlEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: theLab().paths.dir, LVSCTL_URL: '', LVSCTL_TOKEN: '', LVSCTL_CA: '' };
}

function ctl(args: string[]) {
  return exec(process.execPath, [CTL, ...args], { cwd: REPO, env: ctlEnv(), timeoutMs: 300_000 });
}
const inv = () => ['-i', MODES[mode].inv, '-i', 'inventory/lab.yml'];

async function ctlOk(t: ExecutionContext, args: string[]): Promise<string> {
  const r = await ctl(args);
  t.is(r.code, EXIT.ok, `ctl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The director role alone, with extra vars (the defaults when none). */
const director = (t: ExecutionContext, ...extra: string[]) => ctlOk(t, ['run', 'role', MODES[mode].role, '--hosts', 'server2', '-D', ...inv(), ...extra.flatMap((e) => ['-e', e])]);

/** Each real server's weight in the director's kernel table; absent: not in the table. */
async function weights(): Promise<Record<string, number | undefined>> {
  const list = parseList((await theLab().run('server2', ['ipvsadm', '-ln'])).stdout);
  const svc = list.services.find((s) => s.address === MODES[mode].vip);
  return Object.fromEntries((svc?.realServers ?? []).map((r) => [r.address, r.weight]));
}

async function activeConn(address: string): Promise<number> {
  const list = parseList((await theLab().run('server2', ['ipvsadm', '-ln'])).stdout);
  return list.services.find((s) => s.address === MODES[mode].vip)?.realServers.find((r) => r.address === address)?.activeConn ?? 0;
}

/** The director's ESTABLISHED connection entries from the client: its port and the real server. */
async function established(): Promise<{ port: number; rs: string }[]> {
  const out = (await theLab().run('server2', ['ipvsadm', '-Lnc'])).stdout;
  return [...out.matchAll(/^TCP\s+\S+\s+ESTABLISHED\s+172\.25\.7\.10:(\d+)\s+\S+\s+([\d.]+):\d+\s*$/gm)].map((m) => ({ port: Number(m[1]), rs: m[2]! }));
}

/** Polls the director's table until `address` has `want` (undefined: absent), or fails after `boundMs`. */
async function waitWeight(t: ExecutionContext, address: string, want: number | undefined, boundMs: number): Promise<void> {
  const end = Date.now() + boundMs;
  let seen: Record<string, number | undefined> = {};
  while (Date.now() < end) {
    seen = await weights();
    if (seen[address] === want) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  t.fail(`${address} did not reach weight ${want ?? 'absent'} within ${boundMs} ms: ${JSON.stringify(seen)}`);
}

const httpd = (host: 'server2' | Rs, action: 'start' | 'stop') => theLab().run(host, [`/run/lab/roots/${host}/etc/init.d/httpd`, action]);

/** `n` requests on fresh connections from the client: each answer's body, or `failed (code)`. */
async function requests(n: number, file = ''): Promise<string[]> {
  const url = `http://${MODES[mode].vip}/${file}`;
  const r = await theLab().exec('client', ['curl', '-s', '-m', '5', '-H', 'Connection: close', '-w', '[%{http_code}]\\n', ...Array(n).fill(url)], { timeoutMs: 120_000 });
  const out: string[] = [];
  let body = '';
  for (const line of r.stdout.split('\n')) {
    const code = /^\[(\d{3})\]$/.exec(line)?.[1];
    if (code === undefined) body += body ? `\n${line}` : line;
    else {
      out.push(code === '200' ? body.trim() : `failed (${code})`);
      body = '';
    }
  }
  return out;
}

function alternate(t: ExecutionContext, seen: string[], what: string): void {
  t.deepEqual([...new Set(seen)].sort(), ['server3-hk', 'server4-hk'], `${what}: ${seen.join(' ')}`);
  for (let i = 1; i < seen.length; i++) t.not(seen[i], seen[i - 1], `${what}: request ${i + 1} went to the other real server (${seen.join(' ')})`);
}

/** The controller's store outlives the lab: a drain an earlier, failed run left behind is undone. */
async function undrainAll(t: ExecutionContext): Promise<void> {
  const st = JSON.parse(await ctlOk(t, ['status', '--json'])) as StatusResponse;
  for (const d of st.drained) await ctlOk(t, ['undrain', d.host]);
}

/** The role's defaults, nothing drained, both web servers up, both real servers back at their declared weight. */
async function settled(t: ExecutionContext): Promise<void> {
  await undrainAll(t);
  await director(t);
  await httpd('server3', 'start');
  await httpd('server4', 'start');
  for (const a of Object.values(RS)) await waitWeight(t, a, 1, boundFor(DEFAULT_CHECK, 'up'));
}

/**
 * The transitions the controller received since `since` (the lab controller's store outlives a
 * boot, so earlier runs' events are there too), one line each as `ctl events` prints them.
 */
async function events(since: number): Promise<string> {
  const all = JSON.parse((await ctl(['events', '--json', '--limit', '10000'])).stdout) as HealthEvent[];
  return all.filter((e) => Date.parse(e.receivedAt) >= since).map(eventLine).join('\n');
}

async function converge(t: ExecutionContext, m: Mode): Promise<void> {
  mode = m;
  await undrainAll(t);
  await ctlOk(t, ['run', 'playbook', 'site.yml', ...inv()]);
  // A transition in flight would be applied by the next run: start from a settled cluster.
  await settled(t);
  const again = await ctlOk(t, ['run', 'playbook', 'site.yml', ...inv()]);
  for (const h of ['server2', 'server3', 'server4']) t.regex(again, new RegExp(`^${h}\\s+: ok=\\d+\\s+changed=0\\s`, 'm'), `${m}: the second run changes nothing (the checker runs the declaration)\n${again}`);
  const status = await ctlOk(t, ['status']);
  t.regex(status, new RegExp(`^ {2}TCP ${MODES[m].vip.replace(/\./g, '\\.')}:80 rr {2}quorum 1 held \\(live weight 2\\)`, 'm'), status);
}

/** Stop one web server: inhibited within the bound, every request goes to the other; back: its weight returns, answers alternate. */
async function failover(t: ExecutionContext): Promise<void> {
  const vip = MODES[mode].vip;
  const since = Date.now();
  await httpd('server3', 'stop');
  await waitWeight(t, RS.server3, 0, boundFor(DEFAULT_CHECK, 'down'));
  t.is((await weights())[RS.server4], 1);
  const seen = await requests(20);
  t.deepEqual(seen, Array(20).fill('server4-hk'), `${mode}: 20 requests while server3 is down`);

  const status = await ctlOk(t, ['status']);
  // The mode's name is the forwarding method ipvsadm shows (dr: Route, nat: Masq).
  t.regex(status, new RegExp(`^ {4}172\\.25\\.7\\.3:80 +${mode} +1 +0 +down \\(connect refused\\) +http +\\d\\d:\\d\\d:\\d\\d \\(\\d+ ms\\) +connect refused `, 'm'), status);
  t.regex(status, new RegExp(`^ {4}172\\.25\\.7\\.4:80 +${mode} +1 +1 +up +http +\\d\\d:\\d\\d:\\d\\d \\(\\d+ ms\\) +HTTP 200 `, 'm'), status);

  // A drift check while server3 is inhibited: its weight 0 is health, not drift.
  const drift = await ctl(['drift', 'site.yml', ...inv(), '--limit', 'server2']);
  t.is(drift.code, EXIT.ok, drift.stdout + drift.stderr);
  t.regex(drift.stdout, /^ {4}health: 172\.25\.7\.3:80 down \(connect refused\)$/m);
  t.regex(drift.stdout, /^no drift: every host is as declared$/m);

  await httpd('server3', 'start');
  await waitWeight(t, RS.server3, 1, boundFor(DEFAULT_CHECK, 'up'));
  alternate(t, await requests(6), `${mode} after server3 came back`);
  const log = await events(since);
  const svc = `tcp:${vip}:80`.replace(/\./g, '\\.');
  t.regex(log, new RegExp(`  server2  ${svc} 172\\.25\\.7\\.3:80  up -> down: connect refused \\(check \\d+ ms\\)$`, 'm'), log);
  t.regex(log, new RegExp(`  server2  ${svc} 172\\.25\\.7\\.3:80  down -> up: HTTP 200 \\(check \\d+ ms\\)$`, 'm'), log);
  // ctl events prints the same lines.
  const printed = await ctlOk(t, ['events', '--limit', '1000']);
  for (const line of log.split('\n')) t.true(printed.includes(line), `ctl events shows: ${line}\n${printed}`);
}

test.serial('DR converged with http checks: a stopped web server is inhibited, 20 requests all answered by the other, it comes back; status, events, drift agree', async (t) => {
  theLab();
  await converge(t, 'dr');
  await failover(t);
});

test.serial('DR: a healthy real server deleted by hand is drift, and a run restores it (then checks it)', async (t) => {
  const l = theLab();
  await settled(t);
  await l.run('server2', ['ipvsadm', '-d', '-t', `${MODES.dr.vip}:80`, '-r', `${RS.server4}:80`]);
  const drift = await ctl(['drift', 'site.yml', ...inv(), '--limit', 'server2']);
  t.is(drift.code, EXIT.drift, drift.stdout + drift.stderr);
  t.regex(drift.stdout, /^ {4}\+ -a -t 172\.25\.7\.200:80 -r 172\.25\.7\.4:80 -g -w 1$/m, drift.stdout);
  await director(t);
  t.is((await weights())[RS.server4], 1, 'restored by the run');
  // ... and still checked: a check after the run, and it follows the server down.
  const status = await ctlOk(t, ['status', '--json']);
  const rs = (JSON.parse(status) as { directors: { services: { realServers: { address: string; lastCheckAt?: number }[] }[] }[] }).directors[0].services[0].realServers.find((r) => r.address === RS.server4);
  t.truthy(rs?.lastCheckAt);
  await httpd('server4', 'stop');
  await waitWeight(t, RS.server4, 0, boundFor(DEFAULT_CHECK, 'down'));
  await settled(t);
});

test.serial('DR, on_failure remove: a failing real server leaves the table and comes back', async (t) => {
  await settled(t);
  await director(t, 'lvs_on_failure=remove');
  await httpd('server3', 'stop');
  await waitWeight(t, RS.server3, undefined, boundFor({ ...DEFAULT_CHECK, on_failure: 'remove' }, 'down'));
  t.deepEqual(await requests(4), Array(4).fill('server4-hk'));
  t.regex((await ctl(['drift', 'site.yml', ...inv(), '--limit', 'server2', '-e', 'lvs_on_failure=remove'])).stdout, /^no drift/m, 'removed by health is not drift');
  await httpd('server3', 'start');
  await waitWeight(t, RS.server3, 1, boundFor({ ...DEFAULT_CHECK, on_failure: 'remove' }, 'up'));
  await settled(t);
});

test.serial('DR, quorum: both web servers down bring the sorry server in; one back takes it out', async (t) => {
  const l = theLab();
  await settled(t);
  const since = Date.now();
  // The sorry server: busybox httpd on the director itself (IPVS delivers to a local real server).
  await l.run('server2', ['tee', '/run/lab/roots/server2/var/www/html/index.html'], { input: 'sorry-server2\n' });
  await httpd('server2', 'start');
  t.teardown(() => void httpd('server2', 'stop').catch(() => {}));
  await director(t, 'lvs_sorry_server=172.25.7.2:80');
  await httpd('server3', 'stop');
  await httpd('server4', 'stop');
  const down = boundFor(DEFAULT_CHECK, 'down');
  await waitWeight(t, '172.25.7.2', 1, down);
  t.like(await weights(), { [RS.server3]: 0, [RS.server4]: 0 });
  t.deepEqual(await requests(3), Array(3).fill('sorry-server2'));
  const status = await ctlOk(t, ['status']);
  t.regex(status, /quorum 1 LOST \(live weight 0\) {2}sorry server 172\.25\.7\.2:80 IN/, status);

  await httpd('server4', 'start');
  await waitWeight(t, '172.25.7.2', undefined, boundFor(DEFAULT_CHECK, 'up'));
  t.deepEqual(await requests(3), Array(3).fill('server4-hk'));
  const log = await events(since);
  for (const line of ['held -> lost: quorum lost (live weight 0, quorum 1)', '172.25.7.2:80  out -> in: sorry server in', 'lost -> held: quorum regained (live weight 1, quorum 1)', '172.25.7.2:80  in -> out: sorry server out']) {
    t.true(log.includes(line), `${line}\n${log}`);
  }
  await director(t);
  await httpd('server2', 'stop');
  await settled(t);
});

test.serial('DR, tcp and exec checks (per real server, from host vars): each detects its server down; exec runs an argv, no shell', async (t) => {
  await settled(t);
  const since = Date.now();
  const exec = { type: 'exec', argv: ['/usr/bin/curl', '-sf', '-o', '/dev/null', '-m', '1', 'http://172.25.7.3/'], timeout: 2 };
  const file = path.join(tmp, 'checks.yml');
  writeFileSync(file, JSON.stringify({ all: { children: { lvs: { children: { realservers: { hosts: { server3: { lvs_rs_healthcheck: exec }, server4: { lvs_rs_healthcheck: 'tcp' } } } } } } } }));
  await ctlOk(t, ['run', 'role', 'lvs-director-dr', '--hosts', 'server2', ...inv(), '-i', file]);
  await httpd('server3', 'stop');
  await waitWeight(t, RS.server3, 0, boundFor(exec, 'down'));
  await httpd('server4', 'stop');
  await waitWeight(t, RS.server4, 0, boundFor({ type: 'tcp' }, 'down'));
  const status = await ctlOk(t, ['status']);
  t.regex(status, /^ {4}172\.25\.7\.3:80 +dr +1 +0 +down \(exit 7\) +exec /m, status);
  t.regex(status, /^ {4}172\.25\.7\.4:80 +dr +1 +0 +down \(connect refused\) +tcp /m, status);
  t.regex(await events(since), /172\.25\.7\.3:80 {2}up -> down: exit 7 /);
  await httpd('server3', 'start');
  await httpd('server4', 'start');
  await waitWeight(t, RS.server3, 1, boundFor(exec, 'up'));
  await waitWeight(t, RS.server4, 1, boundFor({ type: 'tcp' }, 'up'));
  t.regex(await ctlOk(t, ['status']), /^ {4}172\.25\.7\.3:80 +dr +1 +1 +up +exec +\S+ \(\d+ ms\) +exit 0 /m);
  await settled(t);
});

test.serial('DR, drain with a download open through the VIP: new connections go to the other server, the open one stays, a run does not undo it, --wait reports it, undrain restores', async (t) => {
  const l = theLab();
  await settled(t);
  const since = Date.now();
  for (const h of ['server3', 'server4'] as const) await l.run(h, ['dd', 'if=/dev/zero', `of=/run/lab/roots/${h}/var/www/html/big.bin`, 'bs=1M', 'count=40', 'status=none']);
  // A slow download (curl's rate limit) from a known client port, far longer than this test: the
  // test ends it. (Left to end by itself, its length in the emulated guest went from seconds to
  // minutes with the host's load.)
  const port = 40101;
  const part = '/run/lab/roots/client/big.part';
  const slow = l.exec('client', ['curl', '-s', '-o', part, '--local-port', String(port), '--limit-rate', '20k', `http://${MODES.dr.vip}/big.bin`], { timeoutMs: 280_000 });
  // Awaited below; when an assertion ends the test first, its end with the lab is not an unhandled rejection.
  slow.catch(() => undefined);
  const entry = await waitFor('the download in the director\'s table', async () => (await established()).find((x) => x.port === port), 30_000, 250);
  const busy = (Object.keys(RS) as Rs[]).find((h) => RS[h] === entry.rs)!;
  const free = other(busy);

  const drained = await ctlOk(t, ['drain', busy]);
  t.regex(drained, new RegExp(`^drained: ${busy} \\(10\\.250\\.\\d+\\.2, ${RS[busy].replace(/\./g, '\\.')}\\); sent to `, 'm'), drained);
  await waitWeight(t, RS[busy], 0, APPLY_SLACK_MS);
  t.deepEqual(await requests(6), Array(6).fill(`${free}-hk`), 'new connections go to the other server only');
  t.true((await activeConn(RS[busy])) > 0, 'the download is still open on the director');

  const run = await director(t);
  t.regex(run, /^server2\s+: ok=\d+\s+changed=0\s/m, 'a run does not undo the drain');
  t.is((await weights())[RS[busy]], 0);
  t.regex((await ctl(['drift', 'site.yml', ...inv(), '--limit', 'server2'])).stdout, /^no drift/m);
  t.regex(await ctlOk(t, ['status']), new RegExp(`^ {4}${RS[busy].replace(/\./g, '\\.')}:80 +dr +1 +0 +drained `, 'm'));

  const early = await ctl(['drain', busy, '--wait', '--timeout', '2s']);
  t.is(early.code, EXIT.drainTimeout, early.stdout + early.stderr);
  t.regex(early.stderr, new RegExp(`^ERROR! ${busy} still busy after 2 s: server2 tcp:172\\.25\\.7\\.200:80 ${RS[busy].replace(/\./g, '\\.')}:80: 1 active \\(weight 0\\); it stays drained`, 'm'));

  // --wait ending when the connection does is asserted against a controller in health-hub.test.ts,
  // not here: in this emulated guest, under the host's load, the director stopped seeing the
  // download's packets mid-way (its entry stayed ESTABLISHED, its timer frozen) in 3 runs of 6, so
  // the kernel's ActiveConn never dropped; the cause is not found yet (see docs/HEALTH.md).
  await l.exec('client', ['pkill', '-f', `local-port ${port}`]);
  await slow;
  await l.run('client', ['rm', '-f', part]);

  await ctlOk(t, ['undrain', busy]);
  await waitWeight(t, RS[busy], 1, APPLY_SLACK_MS);
  alternate(t, await requests(6), 'after undrain');
  const log = await events(since);
  t.regex(log, new RegExp(`172\\.25\\.7\\.200:80 ${RS[busy].replace(/\./g, '\\.')}:80  serving -> drained: drained$`, 'm'));
  t.regex(log, new RegExp(`172\\.25\\.7\\.200:80 ${RS[busy].replace(/\./g, '\\.')}:80  drained -> serving: undrained$`, 'm'));
});

test.serial('NAT on the same hosts, converged with http checks: the same failover', async (t) => {
  theLab();
  await converge(t, 'nat');
  await failover(t);
});
