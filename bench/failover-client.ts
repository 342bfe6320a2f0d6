/**
 * Runs inside the lab's client namespace (bench/health-failover.ts): a GET to the VIP on a new
 * connection every 1000/rps ms from `startAt` for `durationMs`, each with a 1 s deadline, then
 * prints every request as JSON: when it started, whether it got a 2xx, the body or why not.
 * Plain node, no imports of the project: node starts slowly enough under emulation.
 * Usage: node failover-client.js VIP START_AT_MS DURATION_MS RPS
 */
import http from 'node:http';

const [vip, startAt, durationMs, rps] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 10)];
const results: { t: number; ok: boolean; what: string }[] = [];
let open = 0;

function one(): void {
  const t = Date.now();
  open++;
  let settled = false;
  const done = (ok: boolean, what: string) => {
    if (settled) return;
    settled = true;
    open--;
    results.push({ t, ok, what });
  };
  const req = http.get({ host: vip, port: 80, path: '/', agent: false, timeout: 1000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (body += d));
    res.on('end', () => done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, body.trim() || `HTTP ${res.statusCode}`));
    res.on('error', (e) => done(false, e.message));
  });
  req.on('timeout', () => req.destroy(new Error('timeout 1 s')));
  req.on('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
}

const n = Math.floor((durationMs * rps) / 1000);
for (let i = 0; i < n; i++) setTimeout(one, Math.max(0, startAt + (i * 1000) / rps - Date.now()));
const end = setInterval(() => {
  if (Date.now() < startAt + durationMs + 1500 || open > 0) return;
  clearInterval(end);
  process.stdout.write(JSON.stringify(results.sort((a, b) => a.t - b.t)) + '\n');
}, 100);
