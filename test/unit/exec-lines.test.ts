import test from 'ava';
import { readFileSync } from 'node:fs';
import { spawnLines } from '../../common/exec.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Children of a process, from /proc (Linux 3.5+). */
const children = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

test('spawnLines gives stdout line by line, the unterminated last line too, and the exit', async (t) => {
  const lines: string[] = [];
  const p = spawnLines('printf', ['a\\nb b\\n\\nc'], (l) => lines.push(l));
  const exit = await p.exited;
  t.deepEqual(lines, ['a', 'b b', '', 'c']);
  t.deepEqual(exit, { code: 0, signal: null, stderr: '' });
});

test('spawnLines: a missing binary exits 127 like exec; stderr is kept for the log', async (t) => {
  t.like(await spawnLines('lvsctl-no-such-binary', [], () => {}).exited, { code: 127, stderr: 'lvsctl-no-such-binary: command not found' });
  const e = await spawnLines('ls', ['/lvsctl-no-such-dir'], () => {}).exited;
  t.is(e.code, 2);
  t.regex(e.stderr, /No such file or directory/);
});

test('stop ends the whole process group, not only the command', async (t) => {
  // xargs runs `sleep` as its child and, killed by SIGTERM, leaves it running: only a group kill ends both.
  const p = spawnLines('xargs', ['-a', '/dev/null', 'sleep', '300'], () => {});
  let kids: number[] = [];
  for (let i = 0; i < 100 && !kids.length; i++) {
    await new Promise((r) => setTimeout(r, 20));
    kids = children(p.pid!);
  }
  t.is(kids.length, 1, 'sleep runs under xargs');
  const exit = await p.stop();
  t.is(exit.signal, 'SIGTERM');
  for (let i = 0; i < 100 && alive(kids[0]); i++) await new Promise((r) => setTimeout(r, 20));
  t.false(alive(kids[0]), 'the grandchild is gone too');
  t.deepEqual(await p.stop(), exit, 'stopping again is harmless');
});
