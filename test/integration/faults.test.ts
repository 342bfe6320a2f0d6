import test from 'ava';
import { closeSync, constants, existsSync, lstatSync, openSync, promises as fs, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ERRORS, EXIT } from '../../common/errors.js';
import { exec, execOk } from '../../common/exec.js';
import { NsCluster } from '../helpers/cluster.js';
import { REPO, waitFor } from '../helpers/procs.js';

/**
 * Runs under faults, end to end: a real controller and three real agents, each in its own
 * network namespace and root folder. The controller killed mid-run and restarted; tasks that
 * hang on a FIFO (in a child process, and inside the agent itself); a job given up; a run
 * cancelled; runs that overlap on a host.
 */
const HOSTS = { server2: '172.25.7.2', server3: '172.25.7.3', server4: '172.25.7.4' } as const;
const PROJECT = path.join(REPO, 'test/fixtures/faults');
const INV = 'inventory.ini';
const cluster = new NsCluster({ prefix: `lvst-ft${process.pid % 100000}`, hosts: HOSTS, project: PROJECT });
const ctl = (args: string[]) => cluster.ctl(args);
const root = (h: string) => cluster.root(h);

/** A SysV script whose start takes a moment and leaves a mark named after how it was called. */
const STEP_SCRIPT = `#!/bin/sh
name=$(basename "$0")
marks="$(dirname "$0")/../../var/lib/marks"
case "$1" in
  status) [ -f "$marks/$name" ] && exit 0; exit 3 ;;
  start) sleep 0.3; mkdir -p "$marks"; echo started > "$marks/$name" ;;
  stop) rm -f "$marks/$name" ;;
  *) exit 2 ;;
esac
`;
/** A SysV script whose status reads a FIFO nobody writes to: it hangs until killed. */
const HANG_SCRIPT = `#!/bin/sh
case "$1" in
  status) cat "$(dirname "$0")/../../run/hang.fifo" >/dev/null; exit 3 ;;
  *) exit 0 ;;
esac
`;

interface HostJson {
  status: string;
  error?: string;
  results: { index: number; name: string; status: string; msg?: string; recovered?: boolean }[];
}
interface RunJson {
  id: string;
  title: string;
  status: string;
  stopped?: { code: string; message: string };
  hosts: Record<string, HostJson>;
}

async function show(id: string): Promise<RunJson> {
  const r = await ctl(['runs', 'show', id, '--json']);
  if (r.code !== 0) throw new Error(`ctl runs show ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as RunJson;
}

/** The newest run whose title matches, once it is going and `ready` says so. */
function going(title: RegExp, ready: (r: RunJson) => boolean = () => true): Promise<string> {
  return waitFor(`a running run like ${title}`, async () => {
    const list = JSON.parse((await ctl(['runs', '--json'])).stdout) as { id: string; title: string; status: string }[];
    const run = list.find((r) => title.test(r.title) && r.status === 'running');
    return run && ready(await show(run.id)) ? run.id : undefined;
  }, 60_000, 100);
}

function marks(host: string): string[] {
  const dir = path.join(root(host), 'var/lib/marks');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Whether a process has the FIFO open for reading (opening it to write without one fails). */
function fifoReader(fifo: string): boolean {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw e;
  }
}

/** Ends the hang: what waits on the FIFO gets a line and its end. False when nothing waited. */
function release(fifo: string): boolean {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw e;
  }
  writeSync(fd, 'x\n');
  closeSync(fd);
  return true;
}

const stepName = (mark: string) => `step ${mark.replace(/^[a-z]/, '')}`;

test.before(async () => {
  await cluster.start(async (dir) => {
    const initd = path.join(dir, 'etc/init.d');
    await fs.mkdir(initd, { recursive: true });
    await fs.mkdir(path.join(dir, 'run'), { recursive: true });
    await fs.writeFile(path.join(initd, 'step'), STEP_SCRIPT, { mode: 0o755 });
    await fs.writeFile(path.join(initd, 'hang'), HANG_SCRIPT, { mode: 0o755 });
    for (const prefix of ['a', 'c']) for (let i = 1; i <= 20; i++) await fs.symlink('step', path.join(initd, `${prefix}${i}`));
    for (const fifo of ['file.fifo', 'hang.fifo']) await execOk(exec, 'mkfifo', [path.join(dir, 'run', fifo)]);
  });
});

test.after.always(async () => {
  // Nothing may stay blocked on a FIFO of ours when the agents go.
  for (const h of Object.keys(HOSTS)) for (const f of ['file.fifo', 'hang.fifo']) if (existsSync(path.join(root(h), 'run', f))) release(path.join(root(h), 'run', f));
  await cluster.stop();
});

test.serial('the controller killed mid-run: ctl says so and exits with its code; after a restart the run is interrupted and completed from the agents\' journals', async (t) => {
  const watch = cluster.ctlProcess('watch', ['run', 'role', 'steps', '--hosts', 'all', '-i', INV, '-e', 'prefix=a']);
  const id = await going(/role steps/, (r) => Object.values(r.hosts).some((h) => h.results.length >= 3));
  await cluster.procs.kill('controller', 'SIGKILL');

  t.is(await watch.exit, ERRORS.CTL_ERR_CONTROLLER_LOST.exit);
  const errLines = watch.out().split('\n').filter((l) => l.startsWith('ERROR!'));
  t.is(errLines.length, 1);
  t.regex(errLines[0]!, new RegExp(`^ERROR! the controller at https://127\\.0\\.0\\.1:7480 went away while run ${id} was going \\(.+\\); the agents finish their tasks on their own`));
  t.notRegex(watch.out(), /internal error/);

  await cluster.startController('controller-again');
  t.is((await show(id)).status, 'interrupted', 'marked at once, before any agent is back');
  await cluster.agentsOnline(90_000);
  const run = await waitFor('run completed from the journals', async () => {
    const r = await show(id);
    return Object.values(r.hosts).every((h) => h.status === 'done' && h.results.length === 20) ? r : undefined;
  }, 90_000, 500);
  t.is(run.status, 'interrupted');
  t.is(run.stopped?.code, 'CTL_ERR_CONTROLLER_LOST');
  let recovered = 0;
  for (const host of Object.keys(HOSTS)) {
    const h = run.hosts[host]!;
    // What the record says each host did is what is on its disk.
    t.deepEqual(h.results.map((r) => r.index), [...Array(20).keys()], `${host}: each task once`);
    t.deepEqual(h.results.filter((r) => r.status === 'changed').map((r) => r.name).sort(), marks(host).map(stepName).sort(), host);
    t.is(marks(host).length, 20, `${host} finished on its own`);
    recovered += h.results.filter((r) => r.recovered).length;
  }
  t.true(recovered > 0, 'results the dead controller never heard of came from the journals');
  t.regex((await ctl(['runs', 'show', id])).stdout, /\(recovered from the agent's journal\)/);
});

test.serial('a hung task stops at its timeout, its processes killed, and fails the host; the host\'s next run starts at once', async (t) => {
  const fifo = path.join(root('server2'), 'run/hang.fifo');
  const r = await ctl(['run', 'role', 'hang', '--hosts', 'server2', '-i', INV, '-e', 'hang_kind=service', '-e', 'mark=T', '--task-timeout', '2']);
  t.is(r.code, EXIT.hostFailed, r.stdout + r.stderr);
  t.regex(r.stdout, /failed: \[server2\] hang : a service whose status script reads a FIFO.*\n\s+timed out after 2 s/);
  t.regex(r.stdout, /skipped: \[server2\] hang : leave a mark.*\n\s+not run: task 2 failed/);
  t.false(marks('server2').includes('T'));
  t.true(await waitFor('the script killed', async () => (fifoReader(fifo) ? undefined : true), 5000, 50), 'no process of the hung task is left reading');

  const next = await ctl(['run', 'role', 'hang', '--hosts', 'server2', '-i', INV, '-e', 'mark=T2', '--no-wait']);
  t.is(next.code, EXIT.ok, next.stdout + next.stderr);
  t.notRegex(next.stdout, /waiting for/);
  t.true(marks('server2').includes('T2'));
});

test.serial('a job the controller gave up is never applied later, even when the hang inside the agent clears', async (t) => {
  const fifo = path.join(root('server3'), 'run/file.fifo');
  const given = await ctl(['run', 'role', 'hang', '--hosts', 'server3', '-i', INV, '-e', 'hang_kind=file', '-e', 'mark=G', '--job-timeout', '3']);
  t.is(given.code, EXIT.hostUnreachable, given.stdout + given.stderr);
  t.regex(given.stdout, /fatal: \[server3\]: UNREACHABLE! => no answer within 3 s/);

  // The host is free again at once: the agent stopped the given-up job.
  const next = await ctl(['run', 'role', 'hang', '--hosts', 'server3', '-i', INV, '-e', 'mark=N', '--no-wait']);
  t.is(next.code, EXIT.ok, next.stdout + next.stderr);
  t.true(marks('server3').includes('N'));

  // The read inside the agent was still blocked; now it comes back, too late to do anything.
  t.true(release(fifo), 'the agent was still reading the FIFO');
  await new Promise((r) => setTimeout(r, 2000));
  t.false(marks('server3').includes('G'), 'the rest of the given-up job did not run');
  t.true(lstatSync(fifo).isFIFO(), 'the hung task did not go on to write its file');
  const again = await ctl(['run', 'role', 'hang', '--hosts', 'server3', '-i', INV, '-e', 'mark=N']);
  t.is(again.code, EXIT.ok, 'the agent works on');
});

test.serial('a run waiting for a busy host says so, --no-wait is refused, and a cancelled run stops at a task boundary', async (t) => {
  const slow = cluster.ctlProcess('slow', ['run', 'role', 'steps', '--hosts', 'server4', '-i', INV, '-e', 'prefix=c']);
  const id = await going(/role steps on server4/, (r) => (r.hosts.server4?.results.length ?? 0) >= 2);
  const waiting = cluster.ctlProcess('waiting', ['run', 'role', 'hang', '--hosts', 'server4', '-i', INV, '-e', 'mark=W']);
  await waitFor('the waiting line', async () => (watchLine(waiting.out(), `waiting for run ${id} on server4`) ? true : undefined), 30_000, 100);

  const refused = await ctl(['run', 'role', 'hang', '--hosts', 'server4', '-i', INV, '-e', 'mark=R', '--no-wait']);
  t.is(refused.code, ERRORS.CTL_ERR_HOSTS_BUSY.exit);
  t.is(refused.stderr.trim().split('\n').length, 1);
  t.regex(refused.stderr, new RegExp(`^ERROR! hosts: busy with another run: server4 \\(run ${id}\\); not started \\(--no-wait\\)`));

  const cancel = await ctl(['runs', 'cancel', id]);
  t.is(cancel.code, EXIT.ok, cancel.stdout + cancel.stderr);
  t.regex(cancel.stdout, new RegExp(`run ${id} cancelled`));
  t.is(await slow.exit, ERRORS.CTL_ERR_RUN_CANCELLED.exit);
  t.regex(slow.out(), new RegExp(`ERROR! run ${id}: cancelled by an operator`));

  const run = await show(id);
  t.is(run.status, 'cancelled');
  const results = run.hosts.server4!.results;
  t.is(results.length, 20, 'every task accounted for');
  const changed = results.filter((r) => r.status === 'changed');
  const skipped = results.filter((r) => r.status === 'skipped');
  t.true(changed.length >= 2 && skipped.length >= 1, `${changed.length} changed, ${skipped.length} skipped`);
  t.deepEqual(results.map((r) => r.status), [...changed.map(() => 'changed'), ...skipped.map(() => 'skipped')], 'stopped at a boundary: done, then skipped');
  t.true(skipped.every((r) => /^not run: cancelled/.test(r.msg ?? '')));
  t.deepEqual(changed.map((r) => r.name).sort(), marks('server4').filter((m) => m.startsWith('c')).map(stepName).sort(), 'the record is what is on disk');

  t.is(await waiting.exit, EXIT.ok, waiting.out());
  t.true(marks('server4').includes('W'));
  t.false(marks('server4').includes('R'));
});

test.serial('cancel --now kills the running task', async (t) => {
  const fifo = path.join(root('server2'), 'run/hang.fifo');
  const hung = cluster.ctlProcess('hung', ['run', 'role', 'hang', '--hosts', 'server2', '-i', INV, '-e', 'hang_kind=service', '-e', 'mark=K']);
  const id = await going(/role hang on server2/, (r) => (r.hosts.server2?.results.length ?? 0) >= 1);
  await waitFor('the script reading', async () => (existsSync(fifo) && hasReaderWithoutDisturbing(root('server2')) ? true : undefined), 30_000, 100);
  const cancel = await ctl(['runs', 'cancel', id, '--now']);
  t.is(cancel.code, EXIT.ok, cancel.stdout + cancel.stderr);
  t.is(await hung.exit, ERRORS.CTL_ERR_RUN_CANCELLED.exit);
  const run = await show(id);
  t.is(run.status, 'cancelled');
  t.deepEqual(run.hosts.server2!.results.map((r) => [r.status, r.msg?.replace(/:.*$/, '')]), [
    ['skipped', 'condition is false'],
    ['failed', 'cancelled'],
    ['skipped', 'not run'],
  ]);
  t.false(fifoReader(fifo), 'the hung script was killed');
  t.false(marks('server2').includes('K'));
});

function watchLine(out: string, line: string): boolean {
  return out.split('\n').some((l) => l.trim() === line);
}

/**
 * A process is reading this root's hang FIFO: found by its command line in /proc, without
 * touching the FIFO (an open blocked on a FIFO has no file descriptor to find yet).
 */
function hasReaderWithoutDisturbing(hostRoot: string): boolean {
  const target = path.join(hostRoot, 'run/hang.fifo');
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'cat' && argv[1] !== undefined && path.resolve(argv[1]) === target) return true;
    } catch {
      // a process gone meanwhile
    }
  }
  return false;
}
