/**
 * What run history costs on disk: six runs of the 5-task bench role over N hosts (default 3000)
 * recorded through the store, then the size of store.json (what every write rewrites) and of the
 * run journals, next to the size store.json had when it held whole runs (the version-1 layout).
 * Usage: node dist/bench/store-size.js [N]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TaskResult } from '../common/protocol.js';
import { planRun } from '../controller/plan-run.js';
import { Store } from '../controller/store.js';
import type { RunRecord } from '../controller/run-record.js';
import { project } from './plan-project.js';

const RUNS = 6;

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 3000);
  const dir = project(n);
  const data = mkdtempSync(path.join(os.tmpdir(), 'lvsb-store-'));
  try {
    const planned = await planRun({ kind: 'role', role: 'bench', hosts: 'all', inventory: 'hosts.ini' }, { projectDir: dir, ledger: () => [], facts: () => undefined, online: () => true });
    const tasks = planned.spec.plays[0]!.hosts;
    const store = await Store.open(data);
    const v1Runs: unknown[] = [];
    let writeMs = 0;
    for (let i = 0; i < RUNS; i++) {
      const run: RunRecord = { id: `run0000${i}`, title: 'role bench on all', kind: 'role', origin: 'operator', check: false, diff: false, createdAt: new Date().toISOString(), status: 'running', hosts: {} };
      for (const [h, list] of Object.entries(tasks)) run.hosts[h] = { status: 'pending', tasks: list.length, results: [] };
      const t0 = performance.now();
      store.beginRun(run, tasks);
      for (const [h, list] of Object.entries(tasks)) {
        store.updateHost(run, h, { status: 'running' });
        list.forEach((t, index) => store.addResult(run, h, { index, name: t.name, module: t.module, status: t.skip ? 'skipped' : 'ok', ms: 3, ...(t.skip ? { msg: t.skip } : {}) } satisfies TaskResult));
        store.updateHost(run, h, { status: 'done', ms: 40 });
      }
      store.endRun(run);
      await store.flush();
      writeMs += performance.now() - t0;
      v1Runs.push({ ...run, hosts: Object.fromEntries(Object.entries(run.hosts).map(([h, x]) => [h, { ...x, tasks: tasks[h] }])) });
    }
    await store.close();
    const mb = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 2 ** 20).toFixed(2)} MB`);
    const journals = readdirSync(path.join(data, 'runs')).reduce((s, f) => s + statSync(path.join(data, 'runs', f)).size, 0);
    const v1 = Buffer.byteLength(JSON.stringify({ version: 1, agents: {}, runs: v1Runs, ledger: {} }));
    console.log(`${RUNS} runs of ${Object.values(tasks)[0]!.length} tasks on ${n} hosts`);
    console.log(`  store.json now: ${mb(statSync(path.join(data, 'store.json')).size)} (version-1 layout with whole runs: ${mb(v1)})`);
    console.log(`  run journals: ${mb(journals)} in ${RUNS} files; recording all runs (journal + index, fsynced): ${Math.round(writeMs)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
