import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ERRORS, EXIT } from '../../common/errors.js';
import { exec } from '../../common/exec.js';
import { FakeApi, type Received } from '../helpers/fake-api.js';
import { CTL } from '../helpers/procs.js';

/** `ctl` as a user runs it: a real node process, its output and its exit code. */

const lab = mkdtempSync(path.join(os.tmpdir(), 'lvst-ctl-lab-'));
const cwd = mkdtempSync(path.join(os.tmpdir(), 'lvst-ctl-cwd-'));
const USAGE = ERRORS.CTL_ERR_USAGE.exit;
// Tokens reach ctl through a file or the environment, never its command line.
const tokenFile = path.join(lab, 'api-token');
writeFileSync(tokenFile, 'tok\n', { mode: 0o600 });

function ctl(args: string[]) {
  // An empty lab folder: no lab on this machine lends ctl its endpoint or answers `lab status`.
  return exec(process.execPath, [CTL, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: lab, LVSCTL_URL: '', LVSCTL_TOKEN: '' } });
}

const stackLine = /^\s+at /m;

const recap = (failed: number) => ({ server3: { ok: 1, changed: 1, failed, skipped: 0, unreachable: 0 } });
const api = new FakeApi({
  'POST /api/runs': { status: 201, json: { id: 'r1', title: 'role web on server[3:4]', hosts: ['server3'] } },
  'GET /api/runs/r1/events': {
    text:
      [
        { type: 'result', host: 'server3', result: { index: 0, name: 'motd', module: 'file', role: 'web', status: 'changed', ms: 2, diff: { before: 'a\n', after: 'b\n' } } },
        { type: 'host', host: 'server3', status: 'done' },
        { type: 'recap', recap: recap(1) },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n') + '\n',
  },
  'GET /api/agents': { json: [{ name: 'server2', online: 'yes', lastHeartbeat: null, heartbeatAgeMs: null }] },
});

test.before(() => api.start());
test.after.always(async () => {
  await api.stop();
  rmSync(lab, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

test('`ctl run --help`, `ctl help run` and `ctl run role --help` print the options of run', async (t) => {
  const help = await ctl(['run', '--help']);
  t.is(help.code, EXIT.ok, help.stderr);
  t.regex(help.stdout, /^Usage: ctl run role ROLE --hosts PATTERN/);
  for (const opt of [/-C, --check/, /-D, --diff/, /--hosts <pattern>/, /-l, --limit <pattern>/, /-i, --inventory <file>/, /-e, --extra-vars <vars>/, /--controller <url>/, /--token-file <file>/, /--ca <file>/]) t.regex(help.stdout, opt);
  t.is(help.stderr, '');
  for (const args of [['help', 'run'], ['run', 'role', '--help'], ['run', '-h']]) {
    const again = await ctl(args);
    t.is(again.code, EXIT.ok, args.join(' '));
    t.is(again.stdout, help.stdout, args.join(' '));
  }
  const agents = await ctl(['agents', '--help']);
  t.regex(agents.stdout, /--json/);
  t.notRegex(agents.stdout, /--check/, 'each command shows its own options');
});

test('no arguments: the list of commands, exit 0', async (t) => {
  const r = await ctl([]);
  t.is(r.code, EXIT.ok);
  for (const cmd of ['controller', 'run', 'lint', 'drift', 'agents', 'runs', 'schedules', 'lab']) t.regex(r.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
});

test('an unknown option is refused with the usage line and the usage exit code, no stack trace', async (t) => {
  const r = await ctl(['run', 'role', 'x', '--bogus']);
  t.is(r.code, USAGE);
  t.deepEqual(r.stderr.trimEnd().split('\n'), ["ERROR! unknown option '--bogus'", 'usage: ctl run role ROLE --hosts PATTERN [options] | playbook FILE [options]  (ctl run --help)']);
  t.is(r.stdout, '');
});

test('bad command lines of every kind: usage exit code, one error line and the usage, no stack trace', async (t) => {
  for (const [args, error] of [
    [['lab', 'bogus'], /^ERROR! unknown command 'bogus'/],
    [['run', 'role', 'x'], /^ERROR! ctl run role needs --hosts PATTERN/],
    [['run', 'shell', 'x'], /^ERROR! .*'shell' is invalid for argument 'kind'. Allowed choices are role, playbook/],
    [['bogus'], /^ERROR! unknown command 'bogus'/],
    [['agents', 'extra'], /^ERROR! too many arguments for 'agents'/],
    [['runs', 'show'], /^ERROR! missing required argument 'id'/],
    [['lab', 'up', '--mode', 'bgp'], /^ERROR! option '--mode <mode>' argument 'bgp' is invalid. Allowed choices are nat, tun, dr/],
    [['lab', 'up', '--port', '70000'], /^ERROR! option '--port <n>' argument '70000' is invalid. must be a TCP port/],
    [['lab', 'exec', 'server9', '--', 'true'], /^ERROR! .*'server9' is invalid for argument 'host'/],
    [['lab', 'exec', 'server2'], /^ERROR! missing required argument 'cmd'/],
    [['controller', 'start', '--port', 'x'], /^ERROR! option '--port <n>' argument 'x' is invalid/],
  ] as const) {
    const r = await ctl([...args]);
    const what = args.join(' ');
    t.is(r.code, USAGE, what);
    const lines = r.stderr.trimEnd().split('\n');
    t.regex(lines[0]!, error, what);
    t.regex(lines[1] ?? '', /^usage: ctl /, what);
    t.is(lines.length, 2, what);
    t.notRegex(r.stderr, stackLine, what);
  }
});

test('a command that needs a subcommand and gets none prints its commands and exits with the usage code', async (t) => {
  const r = await ctl(['lab']);
  t.is(r.code, USAGE);
  t.regex(r.stderr, /^Commands:\n {2}up \[options\]/m);
  t.regex(r.stderr, /ERROR! ctl lab needs a command \(up, status, down, exec, demo\)\n$/);
});

test('`ctl lab status` without a lab says so with its own exit code', async (t) => {
  const r = await ctl(['lab', 'status']);
  t.is(r.stdout, 'lab: not running\n');
  t.is(r.code, EXIT.labNotRunning);
  t.not(r.code, EXIT.hostUnreachable);
});

test('run flags become the API request (repeatable -i and -e, -C -D combined, --limit), and the exit code follows the recap', async (t) => {
  // A file found here is sent by content; a path that is not is left for the controller's project.
  writeFileSync(path.join(cwd, 'a.yml'), 'all:\n  hosts: {server3: {}}\n');
  const r = await ctl(['run', 'role', 'web', '-l', 'server[3:4]', '-i', 'a.yml', '--inventory', '/etc/b.ini', '-e', 'x=1 y=two', '-e', '{"w": 3}', '-CD', '--controller', api.url, '--token-file', tokenFile]);
  t.is(r.code, EXIT.hostFailed, r.stderr);
  const post = api.received.find((x: Received) => x.method === 'POST' && x.url === '/api/runs');
  t.deepEqual(post?.body, {
    kind: 'role',
    role: 'web',
    hosts: 'server[3:4]',
    inventory: [{ name: path.join(cwd, 'a.yml'), content: 'all:\n  hosts: {server3: {}}\n' }, '/etc/b.ini'],
    extraVars: { x: '1', y: 'two', w: 3 },
    check: true,
    diff: true,
  });
  t.is(post?.authorization, 'Bearer tok');
  t.regex(r.stdout, /^RUN \[role web on server\[3:4\]\] \(check mode\) id r1/);
  t.regex(r.stdout, /changed: \[server3\] web : motd/);
  t.regex(r.stdout, /^ {4}- a$/m, '--diff shows the diff');
  t.regex(r.stdout, /^ {4}\+ b$/m);
  t.regex(r.stdout, /server3\s+: ok=1\s+changed=1\s+unreachable=0\s+failed=1/);
});

test('a controller answer that does not match the API schema: exit 1, one line naming the field', async (t) => {
  const r = await ctl(['agents', '--controller', api.url, '--token-file', tokenFile]);
  t.is(r.code, ERRORS.CTL_ERR_API_RESPONSE.exit);
  t.regex(r.stderr, /^ERROR! response\[0\]\.online: expected boolean, received string \(GET \/api\/agents: .*\)\n$/);
  t.notRegex(r.stderr, stackLine);
});

const endOf = (id: string, status: string, stopped?: { code: string; message: string }) => ({
  type: 'end',
  run: { id, title: 'role web on server3', kind: 'role', origin: 'operator', status, ...(stopped ? { stopped } : {}), check: false, diff: false, createdAt: '2024-05-01T10:00:00.000Z', hosts: {} },
});
const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const result0 = { type: 'result', host: 'server3', result: { index: 0, name: 'motd', module: 'file', status: 'changed', ms: 2 } };
const faults = new FakeApi({
  'POST /api/runs': (r) => {
    const body = r.body as { extraVars?: { case?: string } };
    return { status: 201, json: { id: body.extraVars?.case ?? 'none', title: 'role web on server3', hosts: ['server3'] } };
  },
  // The controller went away after one result: no end, no recap.
  'GET /api/runs/lost/events': { text: ndjson([result0]) },
  'GET /api/runs/waited/events': {
    text: ndjson([
      { type: 'waiting', host: 'server3', run: 'r0' },
      endOf('waited', 'cancelled', { code: 'CTL_ERR_WAIT_TIMEOUT', message: 'still waiting for run r0 on server3 after 5 s (--wait-timeout)' }),
      { type: 'recap', recap: { server3: { ok: 0, changed: 0, failed: 0, skipped: 1, unreachable: 0 } } },
    ]),
  },
  'POST /api/runs/r3/cancel': { status: 202, json: { id: 'r3', cancelling: true } },
  'GET /api/runs/r3/events': { text: ndjson([result0, endOf('r3', 'cancelled', { code: 'CTL_ERR_RUN_CANCELLED', message: 'cancelled by an operator (ctl runs cancel)' }), { type: 'recap', recap: recap(0) }]) },
});
test.before(() => faults.start());
test.after.always(() => faults.stop());

test('a run whose event stream breaks off: one line saying the controller went away, its own exit code', async (t) => {
  const r = await ctl(['run', 'role', 'web', '--hosts', 'server3', '-e', 'case=lost', '--controller', faults.url, '--token-file', tokenFile]);
  t.is(r.code, ERRORS.CTL_ERR_CONTROLLER_LOST.exit);
  t.is(r.code, 8);
  t.regex(r.stdout, /changed: \[server3\] motd/, 'what came before is printed');
  t.deepEqual(r.stderr.trimEnd().split('\n'), [
    `ERROR! the controller at ${faults.url} went away while run lost was going (the event stream ended before the run did); the agents finish their tasks on their own and the run is completed from their journals when it is back: ctl runs show lost`,
  ]);
});

test('run control flags reach the request; a run that waited is said so live, and its give-up has its own exit code', async (t) => {
  const r = await ctl(['run', 'role', 'web', '--hosts', 'server3', '-e', 'case=waited', '--task-timeout', '30', '--job-timeout', '600', '--wait-timeout', '5', '--no-wait', '--controller', faults.url, '--token-file', tokenFile]);
  t.like(faults.received.find((x) => x.method === 'POST' && (x.body as { extraVars?: { case?: string } } | undefined)?.extraVars?.case === 'waited')?.body, { taskTimeout: 30, jobTimeout: 600, waitTimeout: 5, wait: false });
  t.regex(r.stdout, /^waiting for run r0 on server3$/m);
  t.is(r.code, ERRORS.CTL_ERR_WAIT_TIMEOUT.exit);
  t.is(r.code, ERRORS.CTL_ERR_HOSTS_BUSY.exit, '--wait-timeout and --no-wait share the exit code of a busy host');
  t.regex(r.stderr, /^ERROR! run waited: still waiting for run r0 on server3 after 5 s \(--wait-timeout\)\n$/);
  for (const bad of [['--task-timeout', '0'], ['--job-timeout', 'soon'], ['--wait-timeout', '-1']]) {
    const refused = await ctl(['run', 'role', 'web', '--hosts', 'server3', ...bad, '--controller', faults.url, '--token-file', tokenFile]);
    t.is(refused.code, USAGE, bad.join(' '));
    t.regex(refused.stderr, /must be a number of seconds/);
  }
});

test('`ctl runs cancel ID --now` asks for a kill, waits for the end and prints the recap', async (t) => {
  const r = await ctl(['runs', 'cancel', 'r3', '--now', '--controller', faults.url, '--token-file', tokenFile]);
  t.is(r.code, EXIT.ok, r.stderr);
  t.deepEqual(faults.received.find((x) => x.url === '/api/runs/r3/cancel')?.body, { now: true });
  t.regex(r.stdout, /^cancelling run r3 \(running tasks killed\)$/m);
  t.regex(r.stdout, /^run r3 cancelled$/m);
  t.regex(r.stdout, /server3\s+: ok=1/);
});

test('the exit code of a recap: an unreachable host wins over a failed one, as in ansible-playbook', async (t) => {
  const { exitForRecap } = await import('../../cli/run-command.js');
  const host = (failed: number, unreachable: number) => ({ ok: 1, changed: 0, failed, skipped: 0, unreachable });
  t.is(exitForRecap({ a: host(0, 0), b: host(0, 0) }), EXIT.ok);
  t.is(exitForRecap({ a: host(1, 0), b: host(0, 0) }), EXIT.hostFailed);
  t.is(exitForRecap({ a: host(1, 0), b: host(0, 1) }), EXIT.hostUnreachable);
  // A host given up at its deadline whose agent also reported the task it stopped.
  t.is(exitForRecap({ a: host(1, 1) }), EXIT.hostUnreachable);
});
