/**
 * Runs inside the director's namespace (bench/health-failover.ts): at `killAt` kills the web
 * server whose pid file is given (SIGKILL, as a crash), then reads /proc/net/ip_vs every 10 ms
 * (one file read, not a process per look) until the real server's weight is 0 or it is gone,
 * and prints both times as JSON. The same clock as the client's: one guest kernel.
 * Usage: node failover-watch.js KILL_AT_MS PIDFILE RS_ADDR RS_PORT TIMEOUT_MS
 */
import { readFileSync } from 'node:fs';

const [killAt, pidfile, addr, port, timeoutMs] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6])];
const hex = addr.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase()).join('') + ':' + port.toString(16).padStart(4, '0').toUpperCase();

/** The real server's weight in the first service listing it; null when absent. */
function weight(): number | null {
  for (const line of readFileSync('/proc/net/ip_vs', 'utf8').split('\n')) {
    const m = line.match(/^\s+->\s+(\S+)\s+\S+\s+(\d+)/);
    if (m && m[1] === hex) return Number(m[2]);
  }
  return null;
}

setTimeout(() => {
  const before = weight();
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  const tKill = Date.now();
  const poll = setInterval(() => {
    const w = weight();
    const now = Date.now();
    if (w === 0 || w === null || now - tKill > timeoutMs) {
      clearInterval(poll);
      process.stdout.write(JSON.stringify({ before, tKill, tInhibit: w === 0 || w === null ? now : null, after: w }) + '\n');
    }
  }, 10);
}, Math.max(0, killAt - Date.now()));
