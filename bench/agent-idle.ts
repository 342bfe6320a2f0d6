/**
 * An idle agent's CPU and memory with the drift watch on and off, on this machine: a real
 * controller and one real agent (a DR real server: the rhel-repos and lvs-realserver-dr roles
 * applied, so the watch checks a repo file, the VIP on lo, its route and four sysctls with
 * their persisted lines) in network namespaces (test/helpers/cluster.ts). Root; run under the
 * integration lock:
 *   flock /tmp/lvsctl-integration.lock node dist/bench/agent-idle.js [IDLE_SECONDS]
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { NsCluster } from '../test/helpers/cluster.js';
import { REPO, waitFor } from '../test/helpers/procs.js';

const IDLE_S = Number(process.argv[2] ?? 60);
const TICK_MS = 10;

function usage(pid: number): { self: number; children: number; rssKb: number; anonKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { self: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS, rssKb: kb('VmRSS'), anonKb: kb('RssAnon') };
}

async function measure(watch: boolean): Promise<string> {
  const cluster = new NsCluster({ prefix: `lvsb-ai${process.pid % 10000}${watch ? 'w' : 'n'}`, hosts: { server3: '172.25.7.3' }, project: REPO, ...(watch ? {} : { agentArgs: ['--drift-interval', '0'] }) });
  try {
    await cluster.start(async (root) => {
      for (const d of ['etc/sysconfig', 'etc/yum.repos.d']) await fs.mkdir(path.join(root, d), { recursive: true });
      await fs.writeFile(path.join(root, 'etc/sysconfig/network'), 'NETWORKING=yes\n');
      await fs.writeFile(path.join(root, 'etc/sysctl.conf'), '');
    });
    for (const role of ['rhel-repos', 'lvs-realserver-dr']) {
      const r = await cluster.ctl(['run', 'role', role, '--hosts', 'server3', '-i', 'inventory/dr.yml']);
      if (r.code !== 0) throw new Error(`${role}: ${r.stdout}${r.stderr}`);
    }
    if (watch) {
      await waitFor('the watch reporting a clean host', async () => {
        const r = await cluster.ctl(['drift', '--json']);
        const j = JSON.parse(r.stdout) as { findings: unknown[]; hosts: { reportedAt: string | null }[] };
        return j.hosts[0]?.reportedAt && !j.findings.length ? true : undefined;
      }, 60_000, 500);
    }
    // Settle after the runs and the first checks, then measure idle.
    await new Promise((r) => setTimeout(r, 10_000));
    const pid = cluster.procs.pid('server3')!;
    const a = usage(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const wall = performance.now() - t0;
    const b = usage(pid);
    const pct = (ms: number) => ((ms / wall) * 100).toFixed(2);
    return `watch ${watch ? 'on (interval 5 s)' : 'off (--drift-interval 0)'}: CPU ${pct(b.self - a.self)}% of one core in node + ${pct(b.children - a.children)}% in the commands it runs; RSS ${Math.round(b.rssKb / 1024)} MiB (${Math.round(b.anonKb / 1024)} MiB of it its own heap and stacks, the rest the node binary and libraries)`;
  } finally {
    await cluster.stop();
  }
}

console.log(`idle agent of a DR real server, ${IDLE_S} s each, in a network namespace of this machine:`);
console.log(`  ${await measure(true)}`);
console.log(`  ${await measure(false)}`);
process.exit(0);
