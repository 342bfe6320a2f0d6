/**
 * No-op run of the full reference cluster (site.yml, every role) in the running lab: the real
 * kernel, but agents emulated (qemu TCG, ~20x slower than this machine). Run `npm start` (or
 * `ctl lab demo --mode MODE`) first. Usage: node dist/bench/lab-noop.js [N] [MODE]
 */
import { exec } from '../common/exec.js';
import { labEndpoint } from '../lab/state.js';
import { CTL, REPO } from '../test/helpers/procs.js';

const N = Number(process.argv[2] ?? 10);
const mode = process.argv[3] ?? 'dr';
const ep = labEndpoint();
if (!ep) throw new Error('no lab is up: run npm start first');
// ctl finds the lab's URL, token and CA itself: no token on its command line.
const args = [CTL, 'run', 'playbook', 'site.yml', '-i', `inventory/${mode}.yml`, '-i', 'inventory/lab.yml', '--controller', ep.url];
const wall: number[] = [];
let tasks = 0;
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const r = await exec(process.execPath, args, { cwd: REPO, env: { ...process.env, NO_COLOR: '1' } });
  wall.push(performance.now() - t0);
  if (r.code !== 0 || /changed=[1-9]/.test(r.stdout)) throw new Error(`run ${i} was not a no-op:\n${r.stdout}${r.stderr}`);
  tasks = (r.stdout.match(/^(ok|skipped): /gm) ?? []).length;
}
const s = [...wall].sort((a, b) => a - b);
console.log(`no-op site.yml (${mode}) in the lab, 3 hosts, ${tasks} tasks, ${N} runs: min ${Math.round(s[0])} ms, median ${Math.round(s[Math.floor(N / 2)])} ms, max ${Math.round(s[N - 1])} ms`);
