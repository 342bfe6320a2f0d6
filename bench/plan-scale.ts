/**
 * Planning cost against inventory size: a generated inventory of N hosts (ten groups under one
 * parent, host and group vars) and a 5-task role, planned for one host and for every host.
 * Each measurement runs in a child process of its own, so its peak memory (maxRSS) is its own.
 * Usage: node dist/bench/plan-scale.js [N ...]   (default 1000 3000 10000)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../common/exec.js';

const TASKS = `- name: ip forwarding
  sysctl: {name: net.ipv4.ip_forward, value: "{{ ip_forward }}"}
- name: message of the day
  file:
    path: /etc/motd
    content: "{{ inventory_hostname }} ({{ address }}) in {{ group_names | join(', ') }}, weight {{ lvs_weight }}\\n"
    mode: "0644"
- name: hostname
  keyvalue: {path: /etc/sysconfig/network, key: HOSTNAME, value: "{{ inventory_hostname_short }}"}
- name: vip on lo
  address: {address: "{{ vip }}/32", device: "lo:0"}
  when: "'web' in group_names"
- name: arp ignore
  sysctl: {name: net.ipv4.conf.lo.arp_ignore, value: "{{ arp_ignore }}"}
`;

/** A project folder with the role and an INI inventory of `n` hosts in ten groups. */
function project(n: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvsb-plan-'));
  mkdirSync(path.join(dir, 'roles/bench'), { recursive: true });
  writeFileSync(path.join(dir, 'roles/bench/tasks.yml'), TASKS);
  writeFileSync(path.join(dir, 'roles/bench/defaults.yml'), 'arp_ignore: 1\nlvs_weight: 1\n');
  const lines: string[] = [];
  for (let g = 0; g < 10; g++) {
    lines.push(`[web${g}]`);
    for (let i = g; i < n; i += 10) {
      lines.push(`h${String(i).padStart(5, '0')} ansible_host=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} lvs_weight=${1 + (i % 3)}`);
    }
    lines.push(`[web${g}:vars]`, `rack=r${g}`, `svc={'port': 80, 'names': ['a', 'b', 'c']}`);
  }
  lines.push('[web:children]', ...Array.from({ length: 10 }, (_, g) => `web${g}`));
  lines.push('[web:vars]', 'vip=172.25.7.200', '[all:vars]', 'ip_forward=0', 'ntp_servers=["10.0.0.1", "10.0.0.2"]');
  writeFileSync(path.join(dir, 'hosts.ini'), lines.join('\n') + '\n');
  return dir;
}

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
