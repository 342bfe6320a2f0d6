import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCtlError } from '../../common/errors.js';
import { DesiredStates } from '../../controller/desired-state.js';
import { planRun, type PlanEnv } from '../../controller/plan-run.js';
import type { RunRecord } from '../../controller/run-record.js';
import { Store } from '../../controller/store.js';
import { facts } from '../helpers/fake-ctx.js';
import { REPO } from '../helpers/procs.js';

const env: PlanEnv = { projectDir: REPO, ledger: () => [], facts: (h) => facts({ hostname: h }), online: () => true };
const site = (extraVars: Record<string, unknown> = {}, hosts?: string) =>
  planRun({ kind: 'playbook', playbook: 'site.yml', inventory: 'inventory/dr.yml', extraVars, ...(hosts ? { hosts } : {}) }, env);

/** A run record whose hosts ended as given (each task reported ok unless the host failed). */
function ended(id: string, spec: Awaited<ReturnType<typeof site>>['spec'], outcome: Record<string, 'clean' | 'failed' | 'unreachable'>, check = false): RunRecord {
  const hosts: RunRecord['hosts'] = {};
  for (const play of spec.plays) {
    for (const [host, tasks] of Object.entries(play.hosts)) {
      const h = (hosts[host] ??= { status: 'done', tasks: 0, results: [] });
      for (const t of tasks) h.results.push({ index: h.tasks++, name: t.name, module: t.module, status: outcome[host] === 'failed' ? 'failed' : 'ok', ms: 1 });
      if (outcome[host] === 'unreachable') Object.assign(h, { status: 'unreachable', results: [] });
    }
  }
  return { id, title: 't', kind: 'playbook', origin: 'operator', check, diff: false, createdAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', status: 'done', hosts };
}

async function store(t: import('ava').ExecutionContext): Promise<Store> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-desired-'));
  const s = await Store.open(dir, { flushMs: 1 });
  t.teardown(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

test('a playbook plans each host\'s desired state per role slot, in play order, with the drift policy of each role', async (t) => {
  const planned = await site({}, undefined);
  const d = planned.spec.desired!;
  t.deepEqual(d.server3.map((s) => [s.slot, s.roles, s.policy]), [
    ['rhel-repos', ['rhel-repos'], 'report'],
    ['firewall-off', ['firewall-off'], 'report'],
    ['httpd', ['httpd'], 'report'],
    ['lvs-realserver', ['lvs-realserver-dr'], 'report'],
  ]);
  t.deepEqual(d.server2.map((s) => s.slot), ['rhel-repos', 'firewall-off', 'lvs-director']);
  // Exactly the tasks the roles rendered for that host (no retire tasks: those are not desired).
  const rs = d.server3.find((s) => s.slot === 'lvs-realserver')!;
  t.true(rs.tasks.some((x) => x.module === 'address' && x.args.address === '172.25.7.200/32'));
  t.true(rs.tasks.every((x) => x.role === 'lvs-realserver-dr'));

  const fix = await site({ lvs_drift_policy: 'fix' });
  t.true(fix.spec.desired!.server2.every((s) => s.policy === 'fix'));
});

test('a drift policy other than report or fix refuses the run, naming where it was set', async (t) => {
  const e = await t.throwsAsync(site({ lvs_drift_policy: 'repair' }));
  t.true(isCtlError(e));
  t.is((e as { code?: string }).code, 'CTL_ERR_DRIFT_POLICY');
  t.regex(e!.message, /must be report or fix, got "repair"/);
  t.is((e as { where?: { field?: string } }).where?.field, '-e lvs_drift_policy');
});

test('after an applying run a clean host holds each slot it ran; a failed or unreachable host, or a check, changes nothing', async (t) => {
  const s = await store(t);
  const desired = new DesiredStates(s, () => new Date('2026-01-01T00:02:00.000Z'));
  const planned = await site();

  t.deepEqual(desired.recordRun(ended('chk', planned.spec, {}, true), planned.spec), [], 'a check run holds nothing');
  t.deepEqual(desired.recordRun(ended('r1', planned.spec, { server3: 'failed', server4: 'unreachable' }), planned.spec), ['server2']);
  t.deepEqual(desired.hosts(), ['server2']);
  const held = desired.get('server2')!;
  t.is(held.revision, 1);
  t.deepEqual(held.slots.map((x) => [x.slot, x.runId, x.appliedAt]), [
    ['rhel-repos', 'r1', '2026-01-01T00:01:00.000Z'],
    ['firewall-off', 'r1', '2026-01-01T00:01:00.000Z'],
    ['lvs-director', 'r1', '2026-01-01T00:01:00.000Z'],
  ]);

  // A later run of one role replaces that slot only, in its place, and moves the revision on.
  const fw = await planRun({ kind: 'role', role: 'firewall-off', hosts: 'server2', inventory: 'inventory/dr.yml', extraVars: { lvs_drift_policy: 'fix' } }, env);
  t.deepEqual(desired.recordRun(ended('r2', fw.spec, { server2: 'clean' }), fw.spec), ['server2']);
  const after = desired.get('server2')!;
  t.is(after.revision, 2);
  t.deepEqual(after.slots.map((x) => [x.slot, x.runId, x.policy]), [
    ['rhel-repos', 'r1', 'report'],
    ['firewall-off', 'r2', 'fix'],
    ['lvs-director', 'r1', 'report'],
  ]);

  // Kept in the store: a store opened again holds the same.
  await s.flush();
  const again = await Store.open(s.dataDir);
  t.deepEqual(new DesiredStates(again).get('server2'), after);
  await again.close();
});
