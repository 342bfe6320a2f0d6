/**
 * Failover in the lab (issue 11's benchmark): the DR reference cluster converged by the roles,
 * a client sending 10 requests per second through the VIP, and httpd on server3 killed
 * (SIGKILL). Per trial: the time from the kill to the inhibit (server3 at weight 0 in the
 * director's kernel table, read from /proc/net/ip_vs every 10 ms in the director's namespace)
 * and the number of failed requests (no 2xx within 1 s). Median over the trials, with the
 * default timings (http, interval 2 s, timeout 1 s, fall 2). With --keepalived, Debian's
 * keepalived does the same job in the same lab with the equivalent HTTP_GET check
 * (connect_timeout 1, retry 1, delay_before_retry 1), with delay_loop 2 and with its default
 * delay_loop (60 s), each on its own trials.
 *
 * Usage (root, under the lab lock): node dist/bench/health-failover.js [TRIALS] [--keepalived]
 * Lab folder: LVSCTL_LAB_BENCH_DIR (default /var/lib/lvsctl/lab-bench); always taken down at the end.
 */
import { createServer } from 'node:net';
import { exec } from '../common/exec.js';
import type { HealthEvent } from '../common/health-api.js';
import { labExec } from '../lab/exec.js';
import { labDown, labUp } from '../lab/lab.js';
import { BENCH_PACKAGES, ensurePackages } from '../lab/packages.js';
import { labPaths } from '../lab/paths.js';
import { CTL, REPO } from '../test/helpers/procs.js';

const TRIALS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
const KEEPALIVED = process.argv.includes('--keepalived');
const paths = labPaths(process.env.LVSCTL_LAB_BENCH_DIR ?? '/var/lib/lvsctl/lab-bench');
const VIP = '172.25.7.200';
const RS3 = '172.25.7.3';
const RS4 = '172.25.7.4';
const INV = ['-i', 'inventory/dr.yml', '-i', 'inventory/lab.yml'];
const KA_CONF = '/run/lab/roots/server2/etc/keepalived/keepalived.conf';
const KA_PID = '/run/lab/roots/server2/var/run/keepalived.pid';

interface Trial {
  killToInhibitMs: number | null;
  /** From the kill to the checker's down transition (lvsctl only, from the controller's events). */
  killToDownMs?: number;
  failed: number;
  failedAfterInhibit: number;
  requests: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = async (host: string, argv: string[], timeoutMs = 120_000) => {
  const r = await labExec(host, argv, { paths, timeoutMs });
  if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function weights(): Promise<Record<string, number>> {
  const out = await run('server2', ['ipvsadm', '-ln']);
  return Object.fromEntries([...out.matchAll(/->\s+([\d.]+):80\s+\S+\s+(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

async function until(what: string, fn: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function bothServing(): Promise<void> {
  for (const h of ['server3', 'server4']) await run(h, [`/run/lab/roots/${h}/etc/init.d/httpd`, 'start']);
  await until('both real servers at weight 1', async () => {
    const w = await weights();
    return w[RS3] === 1 && w[RS4] === 1;
  });
}

async function trial(durationMs: number, watchMs: number, events?: () => Promise<HealthEvent[]>): Promise<Trial> {
  await bothServing();
  // Both scripts wait for the same instant of the guest's clock; node takes seconds to start there.
  const guestNow = Number((await run('client', ['date', '+%s%3N'])).trim());
  const startAt = guestNow + 5000;
  const killAt = startAt + 3000;
  const client = labExec('client', [process.execPath, `${REPO}/dist/bench/failover-client.js`, VIP, String(startAt), String(durationMs), '10'], { paths, timeoutMs: durationMs + 60_000 });
  const watch = labExec('server2', [process.execPath, `${REPO}/dist/bench/failover-watch.js`, String(killAt), '/run/lab/roots/server3/var/run/httpd.pid', RS3, '80', String(watchMs)], { paths, timeoutMs: durationMs + 60_000 });
  const [c, w] = await Promise.all([client, watch]);
  if (c.code !== 0 || w.code !== 0) throw new Error(`client exit ${c.code}: ${c.stderr.trim()} / watcher exit ${w.code}: ${w.stderr.trim()}`);
  const results = JSON.parse(c.stdout) as { t: number; ok: boolean; what: string }[];
  const seen = JSON.parse(w.stdout) as { tKill: number; tInhibit: number | null };
  const failed = results.filter((r) => !r.ok);
  const t: Trial = {
    killToInhibitMs: seen.tInhibit === null ? null : seen.tInhibit - seen.tKill,
    failed: failed.length,
    failedAfterInhibit: seen.tInhibit === null ? 0 : failed.filter((r) => r.t > seen.tInhibit!).length,
    requests: results.length,
  };
  if (events) {
    const down = (await events()).find((e) => e.kind === 'realserver' && e.realServer === `${RS3}:80` && e.to === 'down' && e.at >= seen.tKill);
    if (down) t.killToDownMs = down.at - seen.tKill;
  }
  return t;
}

function keepalivedConf(delayLoop: number | undefined): string {
  const rs = (a: string) => `  real_server ${a} 80 {
    weight 1
    inhibit_on_failure
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }`;
  return `global_defs {
  router_id lvsctl_bench
}
virtual_server ${VIP} 80 {
${delayLoop === undefined ? '' : `  delay_loop ${delayLoop}\n`}  lb_algo rr
  lb_kind DR
  protocol TCP
${rs(RS3)}
${rs(RS4)}
}
`;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const fmt = (name: string, ts: Trial[]) => {
  const k = ts.map((t) => t.killToInhibitMs).filter((x): x is number => x !== null);
  const f = ts.map((t) => t.failed);
  const d = ts.map((t) => t.killToDownMs).filter((x): x is number => x !== undefined);
  return `| ${name} | ${ts.length} | ${median(k)} ms (${Math.min(...k)}-${Math.max(...k)}) | ${median(f)} (${Math.min(...f)}-${Math.max(...f)}) | ${ts.reduce((n, t) => n + t.failedAfterInhibit, 0)} |${d.length ? ` ${median(d)} ms |` : ' - |'}`;
};

async function main() {
  if (KEEPALIVED) console.log(`keepalived: installed ${(await ensurePackages(BENCH_PACKAGES)).join(' ') || 'already'}`);
  const up = await labUp({ paths, port: await freePort(), mode: 'dr', log: (m) => console.log(`lab: ${m}`) });
  const ctl = async (args: string[]) => {
    const r = await exec(process.execPath, [CTL, ...args], { cwd: REPO, env: { ...process.env, LVSCTL_LAB_DIR: paths.dir, LVSCTL_URL: '', LVSCTL_TOKEN: '', LVSCTL_CA: '' }, timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`ctl ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const events = async () => JSON.parse(await ctl(['events', '--json', '--limit', '10000'])) as HealthEvent[];
  const table: string[] = [];
  try {
    await ctl(['run', 'playbook', 'site.yml', ...INV]);
    const ours: Trial[] = [];
    for (let i = 0; i < TRIALS; i++) {
      ours.push(await trial(15_000, 30_000, events));
      console.log(`lvsctl trial ${i + 1}: ${JSON.stringify(ours.at(-1))}`);
    }
    table.push(fmt('lvsctl, defaults (interval 2 s, timeout 1 s, fall 2)', ours));

    if (KEEPALIVED) {
      // keepalived owns the table: our checker checks nothing (type none), the table is emptied.
      await ctl(['run', 'role', 'lvs-director-dr', '--hosts', 'server2', ...INV, '-e', 'lvs_healthcheck=none']);
      for (const [name, delayLoop, trials, durationMs] of [
        ['keepalived 2.2.7, delay_loop 2', 2, TRIALS, 15_000],
        ['keepalived 2.2.7, default delay_loop (60 s)', undefined, Math.min(TRIALS, 3), 75_000],
      ] as const) {
        await run('server2', ['ipvsadm', '-C']);
        await run('server2', ['mkdir', '-p', '/run/lab/roots/server2/etc/keepalived']);
        await labExec('server2', ['tee', KA_CONF], { paths, input: keepalivedConf(delayLoop) });
        const daemon = labExec('server2', ['keepalived', '-n', '-l', '-C', '-f', KA_CONF, '-p', KA_PID, '-c', `${KA_PID}.checkers`], { paths, timeoutMs: 3_600_000 });
        try {
          const ka: Trial[] = [];
          for (let i = 0; i < trials; i++) {
            ka.push(await trial(durationMs, durationMs));
            console.log(`${name} trial ${i + 1}: ${JSON.stringify(ka.at(-1))}`);
          }
          table.push(fmt(name, ka));
        } finally {
          const pid = (await run('server2', ['cat', KA_PID]).catch(() => '')).trim();
          if (/^\d+$/.test(pid)) await run('server2', ['kill', pid]);
          console.log(`keepalived exited: ${JSON.stringify((await daemon).code)}`);
        }
      }
      await ctl(['run', 'role', 'lvs-director-dr', '--hosts', 'server2', ...INV]);
    }
  } finally {
    await labDown({ paths });
  }
  console.log('\n| checker | trials | kill to inhibit, median (min-max) | failed requests, median (min-max) | failed after the inhibit, all trials | kill to down transition, median |');
  console.log('|---|---|---|---|---|---|');
  for (const l of table) console.log(l);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
