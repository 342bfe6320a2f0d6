/**
 * The drift watch core on a DR real server in a network namespace of this machine: detection
 * latency of an address change (kernel event) and of a sysctl change (interval poll), then the
 * idle CPU and RSS of a process that runs only the watch. Root; run under the integration lock:
 *   flock /tmp/lvsctl-integration.lock node dist/bench/drift-watch.js [TRIALS] [IDLE_SECONDS]
 * It re-runs itself inside the namespace (`ip netns exec`), where /proc/sys/net is the namespace's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exec, execOk } from '../common/exec.js';
import { checkFindings } from '../agent/watch/check.js';
import { DriftWatcher, type FindingsDiff } from '../agent/watch/drift-watcher.js';
import { KernelEvents } from '../agent/watch/kernel-events.js';
import { MODULES } from '../agent/modules/index.js';
import { ctxFor } from '../test/helpers/fake-ctx.js';

const TRIALS = Number(process.argv[2] ?? 10);
const IDLE_S = Number(process.argv[3] ?? 60);
const INTERVAL_MS = 5000;
const VIP = '10.77.2.200';
const ip = (...args: string[]) => execOk(exec, 'ip', args);

/** The DR real server role's kernel tasks (persisting left out: only the running kernel is watched here). */
const TASKS = [
  { name: 'VIP on lo:0', module: 'address', args: { address: `${VIP}/32`, device: 'lo:0' } },
  { name: 'host route to the VIP', module: 'route', args: { destination: VIP, device: 'lo' } },
  ...['lo', 'all'].flatMap((dev) => [
    { name: `arp_ignore ${dev}`, module: 'sysctl', args: { name: `net.ipv4.conf.${dev}.arp_ignore`, value: 1, persist: false } },
    { name: `arp_announce ${dev}`, module: 'sysctl', args: { name: `net.ipv4.conf.${dev}.arp_announce`, value: 2, persist: false } },
  ]),
].map((t) => ({ ...t, role: 'lvs-realserver-dr' }));

/** CPU time of the children this process has waited for (utime+stime of /proc/self/stat, 100 ticks/s). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${Math.round(s[0])} ms, median ${Math.round(s[Math.floor(s.length / 2)])} ms, max ${Math.round(s[s.length - 1])} ms`;
}

async function inside(): Promise<void> {
  const diffs: { at: number; diff: FindingsDiff }[] = [];
  let checkMs: number[] = [];
  const watcher = new DriftWatcher({
    intervalMs: INTERVAL_MS,
    check: async () => {
      const t0 = performance.now();
      try {
        return await checkFindings(TASKS, MODULES, ctxFor('/nonexistent', { exec }));
      } finally {
        checkMs.push(performance.now() - t0);
      }
    },
    onDiff: (diff) => diffs.push({ at: performance.now(), diff }),
  });
  const events = new KernelEvents({ onChange: () => watcher.kick() });
  events.start();
  await new Promise((r) => setTimeout(r, 500));
  watcher.start();
  process.once('SIGTERM', () => void events.stop().then(() => process.exit(1)));
  const until = async (step: string, what: (d: FindingsDiff) => boolean, since: number) => {
    const end = performance.now() + 2 * INTERVAL_MS + 5000;
    while (performance.now() < end) {
      const hit = diffs.find((d) => d.at >= since && what(d.diff));
      if (hit) return hit.at - since;
      await new Promise((r) => setTimeout(r, 5));
    }
    await events.stop();
    throw new Error(`${step}: not seen; findings now: ${JSON.stringify(watcher.findings().map((f) => f.text))}`);
  };
  await until('converged at start', (d) => d.first && d.all.length === 0, 0);
  const address: number[] = [];
  const sysctl: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    let t0 = performance.now();
    await ip('addr', 'del', `${VIP}/32`, 'dev', 'lo');
    address.push(await until('address finding', (d) => d.appeared.some((f) => f.task === 'VIP on lo:0'), t0));
    t0 = performance.now();
    await ip('addr', 'add', `${VIP}/32`, 'dev', 'lo', 'label', 'lo:0');
    await ip('route', 'replace', `${VIP}/32`, 'dev', 'lo', 'scope', 'link');
    await until('address resolved', (d) => d.all.length === 0, t0);
    // At a random point of the interval, as a change by hand would fall.
    await new Promise((r) => setTimeout(r, Math.random() * INTERVAL_MS));
    t0 = performance.now();
    writeFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', '0\n');
    sysctl.push(await until('sysctl finding', (d) => d.appeared.some((f) => f.field === 'net.ipv4.conf.all.arp_ignore'), t0));
    writeFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', '1\n');
    await until('sysctl resolved', (d) => d.all.length === 0, performance.now());
  }
  checkMs = [];
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  const wall0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const childPct = ((childrenCpuMs() - children0) / wall) * 100;
  await events.stop();
  await watcher.stop();
  console.log(`drift watch on a DR real server (${TASKS.length} tasks, interval ${INTERVAL_MS / 1000} s), ${TRIALS} trials:`);
  console.log(`  address deleted -> finding (ip monitor event): ${stats(address)}`);
  console.log(`  arp_ignore changed -> finding (interval poll): ${stats(sysctl)}`);
  console.log(`  one check of the task list: ${stats(checkMs)}`);
  console.log(`  idle ${IDLE_S} s: CPU ${cpuPct.toFixed(2)}% of one core in node + ${childPct.toFixed(2)}% in the ip/ipvsadm it runs; RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
}

async function outside(): Promise<void> {
  const ns = `lvsb-dw-${process.pid}`;
  await ip('netns', 'add', ns);
  try {
    const run = (...args: string[]) => ip('netns', 'exec', ns, 'ip', ...args);
    await run('link', 'set', 'lo', 'up');
    await run('addr', 'add', `${VIP}/32`, 'dev', 'lo', 'label', 'lo:0');
    await run('route', 'replace', `${VIP}/32`, 'dev', 'lo', 'scope', 'link');
    for (const [dev, k, v] of [['lo', 'arp_ignore', 1], ['all', 'arp_ignore', 1], ['lo', 'arp_announce', 2], ['all', 'arp_announce', 2]] as const) {
      await execOk(exec, 'ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv4.conf.${dev}.${k}=${v}`]);
    }
    const r = await exec('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), String(TRIALS), String(IDLE_S), 'inside'], { timeoutMs: (IDLE_S + 30 * TRIALS + 60) * 1000 });
    process.stdout.write(r.stdout);
    if (r.code !== 0) throw new Error(`bench in the namespace failed (exit ${r.code}): ${r.stderr}`);
  } finally {
    await exec('ip', ['netns', 'del', ns]);
  }
}

await (process.argv[4] === 'inside' ? inside() : outside());
process.exit(0);
