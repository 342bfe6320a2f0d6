import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRole, renderRole } from '../../controller/roles.js';
import { CtlError } from '../../common/errors.js';

/** A task's own time limit, `timeout:` in seconds as Ansible's task keyword. */

const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-roles-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function role(name: string, tasks: string): string {
  mkdirSync(path.join(dir, name), { recursive: true });
  const file = path.join(dir, name, 'tasks.yml');
  writeFileSync(file, tasks);
  return file;
}

test('timeout: reaches the rendered task in ms; a task without one has none', async (t) => {
  role('slow', '- name: big file\n  file:\n    path: /tmp/x\n    content: x\n  timeout: 5\n- name: small file\n  file:\n    path: /tmp/y\n    content: y\n');
  const planned = renderRole(await loadRole(dir, 'slow'), {});
  t.is(planned[0]!.task.timeoutMs, 5000);
  t.false('timeoutMs' in planned[1]!.task);
});

for (const bad of ['"soon"', '0', '-3', '700000']) {
  test(`timeout: ${bad} is refused with file, line and field`, async (t) => {
    const name = `bad${bad.replace(/\W/g, '')}`;
    const file = role(name, `- name: a file\n  file:\n    path: /tmp/x\n    content: x\n  timeout: ${bad}\n`);
    const e = await t.throwsAsync(loadRole(dir, name));
    t.true(e instanceof CtlError);
    t.is((e as CtlError).code, 'CTL_ERR_ROLE_PARSE');
    t.regex((e as CtlError).oneLine(), new RegExp(`^${file}:5: timeout: task 1: timeout must be a number of seconds`));
  });
}
