/**
 * Planning cost against inventory size: a generated inventory of N hosts (ten groups under one
 * parent, host and group vars) and a 5-task role, planned for one host and for every host.
 * Each measurement runs in a child process of its own, so its peak memory (maxRSS) is its own.
 * Usage: node dist/bench/plan-scale.js [N ...]   (default 1000 3000 10000)
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exec } from '../common/exec.js';
import { project } from './plan-project.js';

interface Sample {
  hosts: number;
  scope: 'one' | 'all';
  planMs: number;
  lintMs: number;
  tasks: number;
  maxRssMB: number;
  heapMB: number;
}

async function child(n: number, scope: 'one' | 'all'): Promise<void> {
  const { planRun } = await import('../controller/plan-run.js');
  const { lintCluster } = await import('../controller/lint.js');
  const dir = project(n);
  try {
    const env = { projectDir: dir, ledger: () => [], facts: () => undefined, online: () => true };
    const t0 = performance.now();
    const planned = await planRun({ kind: 'role', role: 'bench', hosts: scope === 'one' ? 'h00001' : 'all', inventory: 'hosts.ini' }, env);
    const t1 = performance.now();
    lintCluster(planned, () => undefined);
    const t2 = performance.now();
    const tasks = planned.spec.plays.reduce((s, p) => s + Object.values(p.hosts).reduce((m, t) => m + t.length, 0), 0);
    const sample: Sample = {
      hosts: n,
      scope,
      planMs: t1 - t0,
      lintMs: t2 - t1,
      tasks,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      heapMB: process.memoryUsage().heapUsed / 2 ** 20,
    };
    process.stdout.write(JSON.stringify(sample) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const self = fileURLToPath(import.meta.url);
  console.log('| hosts in inventory | planned | plan time | cluster check | tasks | peak RSS | heap after |');
  console.log('|---|---|---|---|---|---|---|');
  for (const n of sizes.length ? sizes : [1000, 3000, 10000]) {
    for (const scope of ['one', 'all'] as const) {
      const r = await exec(process.execPath, ['--max-old-space-size=4096', self, '--child', String(n), scope], { timeoutMs: 600_000 });
      if (r.code !== 0) {
        const why = /heap out of memory/.test(r.stderr) ? 'out of memory (4 GB heap)' : r.code === 124 ? 'timed out' : `exit ${r.code}`;
        console.log(`| ${n} | ${scope === 'one' ? '1 host' : `all ${n}`} | failed after ${(r.ms / 1000).toFixed(0)} s: ${why} | | | | |`);
        continue;
      }
      const s = JSON.parse(r.stdout) as Sample;
      const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
      console.log(`| ${n} | ${scope === 'one' ? '1 host' : `all ${n}`} | ${ms(s.planMs)} | ${ms(s.lintMs)} | ${s.tasks} | ${Math.round(s.maxRssMB)} MB | ${Math.round(s.heapMB)} MB |`);
    }
  }
}

const [flag, n, scope] = process.argv.slice(2);
(flag === '--child' ? child(Number(n), scope as 'one' | 'all') : main()).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
