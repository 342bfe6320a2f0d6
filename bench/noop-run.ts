/**
 * No-op run of a three-host cluster: controller and three agents in network namespaces on this
 * machine, the cluster applied once, then N runs that change nothing, timed two ways: the whole
 * `ctl run playbook` process (what an operator waits for) and the controller's own run time.
 * Usage: node dist/bench/noop-run.js [N]   (root; network namespaces only)
 */
import path from 'node:path';
import { NsCluster } from '../test/helpers/cluster.js';
import { REPO } from '../test/helpers/procs.js';

const N = Number(process.argv[2] ?? 20);
const cluster = new NsCluster({
  prefix: `lvsb${process.pid % 100000}`,
  hosts: { server2: '172.25.7.2', server3: '172.25.7.3', server4: '172.25.7.4' },
  project: REPO,
});
const args = ['run', 'playbook', 'bench/host-cluster.yml', '-i', 'inventory/dr.yml'];

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { min: s[0], median: q(0.5), p90: q(0.9), max: s[s.length - 1] };
}

async function main() {
  await cluster.start();
  const first = await cluster.ctl(args);
  if (first.code !== 0) throw new Error(`first run failed:\n${first.stdout}${first.stderr}`);
  const wall: number[] = [];
  const server: number[] = [];
  let tasks = 0;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = await cluster.ctl(args);
    wall.push(performance.now() - t0);
    if (r.code !== 0 || !/changed=0 /.test(r.stdout) || /changed=[1-9]/.test(r.stdout)) throw new Error(`run ${i} was not a no-op:\n${r.stdout}`);
    const runs = JSON.parse((await cluster.ctl(['runs', '--json'])).stdout) as { id: string; createdAt: string; finishedAt: string }[];
    server.push(Date.parse(runs[0].finishedAt) - Date.parse(runs[0].createdAt));
    tasks = (r.stdout.match(/^ok: /gm) ?? []).length;
  }
  const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ');
  console.log(`no-op run of ${path.basename(args[2])} on 3 hosts, ${tasks} tasks, ${N} runs`);
  console.log(`  ctl wall time (process start to exit): ${fmt(stats(wall))}`);
  console.log(`  controller run time (render, fan-out, all results): ${fmt(stats(server))}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cluster.stop());
