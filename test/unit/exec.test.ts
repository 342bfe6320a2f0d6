import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../common/exec.js';

/** The exec helper against real processes: exit codes, output, input, a missing binary, timeouts. */

test('exit code, stdout and stderr come back; a failure never throws', async (t) => {
  const r = await exec(process.execPath, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)']);
  t.like(r, { code: 3, stdout: 'out', stderr: 'err' });
  t.false('timedOut' in r);
  t.like(await exec('/bin/true', []), { code: 0, stdout: '', stderr: '' });
});

test('input goes to stdin; a missing binary is code 127 as in a shell', async (t) => {
  t.like(await exec('/bin/cat', [], { input: 'hello\n' }), { code: 0, stdout: 'hello\n' });
  t.like(await exec('/nonexistent/cmd', []), { code: 127, stderr: '/nonexistent/cmd: command not found' });
});

test('a timeout stops the command with code 124 and says so', async (t) => {
  const r = await exec(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 300 });
  t.like(r, { code: 124, timedOut: true });
});

/** A process that is gone or a zombie no one reaped yet (PID 1 of a container may not reap). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return true;
  }
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) if (gone(pid)) return true;
  return gone(pid);
}

// The timeouts leave node ample time to start on a loaded machine and print the grandchild's pid.
const spawnsGrandchild = [
  '-e',
  "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); process.stdout.write(String(c.pid)); setInterval(() => {}, 1000);",
];

test('killGroup: the timeout kills everything the command started, not only the command', async (t) => {
  const r = await exec(process.execPath, spawnsGrandchild, { timeoutMs: 4000, killGroup: true });
  t.like(r, { code: 124, timedOut: true });
  const grandchild = Number(r.stdout);
  t.true(grandchild > 0);
  t.true(await goneWithin(grandchild, 5000), `grandchild ${grandchild} outlived the timeout`);
});

test('without killGroup a grandchild outlives the timeout (what killGroup is for)', async (t) => {
  const r = await exec(process.execPath, spawnsGrandchild, { timeoutMs: 4000 });
  const grandchild = Number(r.stdout);
  t.true(grandchild > 0, JSON.stringify(r));
  if (!(grandchild > 0)) return;
  try {
    t.like(r, { code: 124, timedOut: true });
    t.false(gone(grandchild));
  } finally {
    process.kill(grandchild, 'SIGKILL');
  }
});

test('signal: an abort kills the whole group at once, with the reason in stderr', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-exec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'pid');
  const ac = new AbortController();
  const pending = exec('/bin/sh', ['-c', `sleep 60 & echo $! > ${pidFile}; wait`], { timeoutMs: 60_000, killGroup: true, signal: ac.signal });
  let grandchild = 0;
  for (const until = Date.now() + 10_000; !grandchild && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) grandchild = Number(existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : 0);
  t.true(grandchild > 0, 'the command started its child');
  ac.abort(new Error('timed out after 1.5 s'));
  const r = await pending;
  t.like(r, { code: 124, aborted: true });
  t.false('timedOut' in r, 'not the exec timeout');
  t.regex(r.stderr, /killed: timed out after 1\.5 s/);
  t.true(await goneWithin(grandchild, 5000), `grandchild ${grandchild} outlived the abort`);
});
test('signal: a command is not started once its signal aborted', async (t) => {
  const ac = new AbortController();
  ac.abort(new Error('cancelled: run cancelled'));
  const r = await exec('/bin/sh', ['-c', 'echo ran']);
  t.is(r.stdout, 'ran\n');
  const refused = await exec('/bin/sh', ['-c', 'echo ran'], { signal: ac.signal });
  t.like(refused, { code: 124, stdout: '', aborted: true });
  t.regex(refused.stderr, /not started: cancelled: run cancelled/);
});
