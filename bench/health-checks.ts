/**
 * The health checker's cost and speed on loopback: N real servers (HTTP listeners in another
 * process) checked by a HealthMonitor with the default timings (http, interval 2 s, timeout 1 s,
 * fall 2, rise 2). Reports the checker's CPU and RSS while all is well, then stops half of the
 * listeners at once, every other one so that their check phases cover the interval (as a stopped
 * httpd: connections refused) and reports, per stopped server,
 * the time from the stop to its inhibit (the apply call).
 * Usage: node dist/bench/health-checks.js [N] [steady seconds]
 */
import type { HealthArgs } from '../agent/health/config.js';
import { HealthMonitor } from '../agent/health/monitor.js';
import { Procs } from '../test/helpers/procs.js';

const N = Number(process.argv[2] ?? 100);
const STEADY_S = Number(process.argv[3] ?? 10);
const WARMUP_S = 3;

// The listeners print their ports, then close every other one at the given epoch ms and say when.
const SERVERS = `
const http = require('http');
const n = Number(process.argv[1]), closeAt = Number(process.argv[2]);
const servers = [];
let listening = 0;
for (let i = 0; i < n; i++) {
  const s = http.createServer((req, res) => res.end('ok'));
  s.listen(0, '127.0.0.1', () => { if (++listening === n) process.stdout.write(JSON.stringify(servers.map((x) => x.address().port)) + '\\n'); });
  servers.push(s);
}
setTimeout(() => {
  servers.forEach((s, i) => { if (i % 2) { s.close(); s.closeAllConnections(); } });
  process.stdout.write('closed ' + Date.now() + '\\n');
}, closeAt - Date.now());
`;

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `min ${s[0]} ms, median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${s[s.length - 1]} ms`;
}

async function main() {
  const procs = new Procs();
  const closeAt = Date.now() + (WARMUP_S + STEADY_S + 2) * 1000;
  const child = procs.start('listeners', process.execPath, ['-e', SERVERS, String(N), String(closeAt)]);
  let out = '';
  const line = (re: RegExp) =>
    new Promise<string>((resolve) => {
      const look = () => {
        const m = out.match(re);
        if (m) return resolve(m[1]);
        child.stdout!.once('data', (d) => ((out += String(d)), look()));
      };
      look();
    });
  const ports = JSON.parse(await line(/^(\[.*\])$/m)) as number[];
  const inhibited = new Map<string, number>();
  const monitor = new HealthMonitor({
    apply: async (_services, changed) => {
      for (const c of changed) if (c.to === 0 && !inhibited.has(c.realServer)) inhibited.set(c.realServer, Date.now());
    },
  });
  const args = {
    services: [
      {
        protocol: 'tcp',
        address: '172.25.7.200',
        port: 80,
        scheduler: 'wrr',
        quorum: 1,
        hysteresis: 0,
        healthcheck: { type: 'http', path: '/', status: '200-399', interval: 2, timeout: 1, fall: 2, rise: 2, on_failure: 'inhibit', alpha: false },
        realServers: ports.map((port) => ({ address: '127.0.0.1', port, forwarding: 'nat', weight: 1 })),
      },
    ],
  } as unknown as HealthArgs;
  monitor.configure(args);
  monitor.start();
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 200);
  await new Promise((r) => setTimeout(r, STEADY_S * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  clearInterval(sampler);
  const closed = Number(await line(/^closed (\d+)$/m));
  await new Promise((r) => setTimeout(r, 8000));
  await monitor.stop();
  await procs.stopAll();
  const latencies = ports.filter((_p, i) => i % 2).map((p) => (inhibited.get(`127.0.0.1:${p}`) ?? NaN) - closed);
  const checks = monitor.snapshot().services[0].realServers.reduce((sum, r) => sum + r.checks, 0);
  console.log(`${N} real servers, http checks every 2 s (${checks} checks in all)`);
  console.log(`  steady state over ${STEADY_S} s: CPU ${((100 * (cpu.user + cpu.system)) / 1000 / wall).toFixed(1)}% of one core, peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
  console.log(`  ${latencies.length} listeners stopped at once: stop -> inhibit ${stats(latencies)}; not inhibited: ${latencies.filter((x) => Number.isNaN(x)).length}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
