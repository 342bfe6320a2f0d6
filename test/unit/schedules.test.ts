import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildController } from '../../controller/app.js';
import { loadSchedules } from '../../controller/schedules.js';
import { REPO } from '../helpers/procs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-sched-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('schedules load with check mode as the default', async (t) => {
  const f = file('ok.yml', '- name: hourly drift\n  cron: "0 * * * *"\n  playbook: site.yml\n  inventory: inventory/dr.yml\n');
  t.deepEqual(await loadSchedules(f), [{ name: 'hourly drift', cron: '0 * * * *', playbook: 'site.yml', inventory: ['inventory/dr.yml'], check: true }]);
  t.deepEqual(await loadSchedules(path.join(dir, 'missing.yml')), []);
});

test('a bad schedule is refused with file, line and field', async (t) => {
  const f = file('bad.yml', '- name: a\n  cron: "0 * * * *"\n  playbook: site.yml\n  inventory: x.yml\n- name: b\n  cron: every hour\n  playbook: site.yml\n  inventory: x.yml\n');
  const e = await t.throwsAsync(loadSchedules(f));
  t.is((e as unknown as { oneLine(): string }).oneLine(), `${f}:5: cron: 'every hour' is not a cron expression like "*/15 * * * *"`);
  await t.throwsAsync(loadSchedules(file('dup.yml', '- {name: a, cron: "* * * * *", playbook: p, inventory: i}\n- {name: a, cron: "* * * * *", playbook: p, inventory: i}\n')), {
    message: /defined twice/,
  });
});

test('a schedule firing starts a drift run in check mode', async (t) => {
  const f = file('fire.yml', '- name: nightly\n  cron: "0 3 * * *"\n  playbook: site.yml\n  inventory: [inventory/dr.yml]\n');
  const ctl = await buildController({ dataDir: path.join(dir, 'data'), token: 't', projectDir: REPO, schedulesFile: f });
  t.teardown(() => ctl.close());
  const [state] = ctl.scheduler.list();
  t.is(state.name, 'nightly');
  t.truthy(state.nextRun);
  const id = await ctl.scheduler.fire(state);
  t.truthy(id, state.lastError ?? '');
  const run = (await ctl.store.run(id!))!;
  t.is(run.kind, 'drift');
  t.true(run.check);
  t.regex(run.title, /^schedule nightly: playbook site\.yml \(drift check\)$/);
});

test('a schedule may bound its tasks and jobs (seconds), as --task-timeout and --job-timeout do', async (t) => {
  const f = file('limits.yml', '- name: nightly\n  cron: "0 3 * * *"\n  playbook: site.yml\n  inventory: inventory/dr.yml\n  task_timeout: 30\n  job_timeout: 600\n');
  t.like((await loadSchedules(f))[0], { taskTimeout: 30, jobTimeout: 600 });
  const bad = file('bad-limits.yml', '- name: nightly\n  cron: "0 3 * * *"\n  playbook: site.yml\n  inventory: inventory/dr.yml\n  job_timeout: soon\n');
  const e = await t.throwsAsync(loadSchedules(bad));
  t.is((e as unknown as { oneLine(): string }).oneLine(), `${bad}:1: job_timeout: must be a number of seconds (0 < job_timeout <= 604800)`);
});
