/**
 * Drift detection latency in the lab, from a change by hand to the finding on the controller,
 * for an IPVS change (polled), an address change (`ip monitor` event) and a sysctl change
 * (polled); then the lab agents' idle CPU and RSS with the watch on. It boots (or reuses) the
 * test lab of LVSCTL_LAB_TEST_DIR, converges DR, and takes the lab down at the end. Run under
 * the integration lock:
 *   flock /tmp/lvsctl-integration.lock env LVSCTL_LAB_TEST_DIR=... node dist/bench/lab-drift.js [TRIALS] [IDLE_SECONDS]
 *
 * The change is made through the lab's command channel: `t0` is when the request left, `t1`
 * when its answer came back (the change happened in between). The finding's time is the
 * controller's `firstSeen`. Both differences are printed: the true latency lies between them.
 */
import { readFileSync } from 'node:fs';
import type { OpenFindings } from '../common/api.js';
import { exec } from '../common/exec.js';
import { labApi } from '../lab/lab-api.js';
import { endTestLab, startTestLab, type TestLab } from '../test/helpers/lab.js';
import { CTL, REPO } from '../test/helpers/procs.js';

const TRIALS = Number(process.argv[2] ?? 7);
const IDLE_S = Number(process.argv[3] ?? 60);
const INTERVAL_MS = 5000;
const VIP = '172.25.7.200';

const KINDS = [
  { kind: 'IPVS real server deleted (polled)', host: 'server2', field: `real server 172.25.7.4:80 of tcp:${VIP}:80`, make: ['ipvsadm', '-d', '-t', `${VIP}:80`, '-r', '172.25.7.4:80'], undo: ['ipvsadm', '-a', '-t', `${VIP}:80`, '-r', '172.25.7.4:80', '-g', '-w', '1'] },
  { kind: 'VIP deleted from lo (ip monitor)', host: 'server3', field: `${VIP} on lo`, make: ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'lo'], undo: ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo', 'label', 'lo:0'] },
  { kind: 'arp_ignore set to 0 (polled)', host: 'server4', field: 'net.ipv4.conf.all.arp_ignore', make: ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=0'], undo: ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1'] },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${Math.round(s[0])} ms, median ${Math.round(s[Math.floor(s.length / 2)])} ms, max ${Math.round(s[s.length - 1])} ms`;
}

async function findings(lab: TestLab, host: string): Promise<OpenFindings['findings']> {
  const r = await labApi(Number(new URL(lab.url).port), lab.token, readFileSync(lab.up.caFile, 'utf8'), 'GET', `/api/findings?host=${host}`, undefined, 30_000);
  return (r.json as OpenFindings).findings;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(100);
  }
}

/** utime+stime (+ the waited-for children's) in ticks, and VmRSS in kB, of a guest process. */
async function procUsage(lab: TestLab, pid: string): Promise<{ ticks: number; childTicks: number; rssKb: number }> {
  const stat = (await lab.run('guest', ['cat', `/proc/${pid}/stat`])).stdout;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec((await lab.run('guest', ['cat', `/proc/${pid}/status`])).stdout)?.[1];
  return { ticks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]), rssKb: Number(rss) };
}

async function main(): Promise<void> {
  const lab = await startTestLab({ mode: 'dr', log: (m) => console.error(m) });
  try {
    const ctl = (args: string[]) => exec(process.execPath, [CTL, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: lab.paths.dir, LVSCTL_URL: '', LVSCTL_TOKEN: '', LVSCTL_CA: '' }, timeoutMs: 900_000 });
    const run = await ctl(['run', 'playbook', 'site.yml', '-i', 'inventory/dr.yml', '-i', 'inventory/lab.yml']);
    if (run.code !== 0) throw new Error(`converge failed:\n${run.stdout}${run.stderr}`);
    for (const h of ['server2', 'server3', 'server4']) await until(`${h} clean`, async () => ((await findings(lab, h)).length ? undefined : true), 300_000);

    console.log(`drift detection latency in the lab (DR, watch interval ${INTERVAL_MS / 1000} s, ${TRIALS} trials each; change sent .. answered -> finding on the controller):`);
    for (const k of KINDS) {
      const upper: number[] = [];
      const lower: number[] = [];
      for (let i = 0; i < TRIALS; i++) {
        // At a random point of the interval, as a change by hand would fall.
        await sleep(Math.random() * INTERVAL_MS);
        const t0 = Date.now();
        await lab.run(k.host, k.make);
        const t1 = Date.now();
        const f = await until(`${k.kind}: finding`, async () => (await findings(lab, k.host)).find((x) => x.field === k.field));
        const seen = Date.parse(f.firstSeen);
        upper.push(seen - t0);
        lower.push(seen - t1);
        await lab.run(k.host, k.undo);
        await until(`${k.kind}: resolved`, async () => ((await findings(lab, k.host)).length ? undefined : true));
      }
      console.log(`  ${k.kind}: from sent ${stats(upper)}; from answered ${stats(lower)}`);
    }

    const pids: Record<string, string> = {};
    for (const h of ['server2', 'server3', 'server4']) pids[h] = (await lab.run('guest', ['pgrep', '-f', `dist/agent/main.js .*--name ${h} `])).stdout.trim().split('\n')[0];
    const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([h, p]) => [h, await procUsage(lab, p)] as const)));
    const t0 = Date.now();
    await sleep(IDLE_S * 1000);
    const wall = Date.now() - t0;
    console.log(`idle ${IDLE_S} s with the watch on, in the emulated guest (qemu TCG, ~20x slower than the host), per agent:`);
    for (const [h, p] of Object.entries(pids)) {
      const a = await procUsage(lab, p);
      const b = before[h];
      const pct = (ticks: number) => ((ticks * 10) / wall) * 100;
      console.log(`  ${h}: node ${pct(a.ticks - b.ticks).toFixed(2)}% + its commands ${pct(a.childTicks - b.childTicks).toFixed(2)}% of one core; RSS ${Math.round(a.rssKb / 1024)} MiB`);
    }
  } finally {
    await endTestLab();
  }
}

await main();
process.exit(0);
