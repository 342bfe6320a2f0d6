import test from 'ava';
import { readFileSync } from 'node:fs';
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
