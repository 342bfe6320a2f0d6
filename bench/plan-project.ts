import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The benchmarks' generated project: a 5-task role and an INI inventory of N hosts. */
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
export function project(n: number): string {
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

