import type { ViewSnapshot } from '../../common/view.js';

const GiB = 2 ** 30;

/** The reference DR cluster as the health view would show it: server3's httpd stopped, a drift finding on server4. */
export function sampleView(now = new Date('2025-06-01T12:00:00Z')): ViewSnapshot {
  const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
  const os = { distro: 'Red Hat Enterprise Linux', release: '9.4', kernel: '5.14.0-427.13.1.el9_4.x86_64' };
  const lastRun = { id: 'r-0042', title: 'playbook site.yml', status: 'ok' as const, label: 'intentional' as const, check: false, finishedAt: ago(600) };
  return {
    generatedAt: now.toISOString(),
    agents: [
      { name: 'server2', state: 'online', heartbeatAgeMs: 1200, address: '172.25.7.2', os, load1: 0.08, memory: { free: 1.4 * GiB, total: 2 * GiB }, uptimeS: 86_400 * 3 + 3600, roles: ['rhel-repos', 'firewall-off', 'lvs-director-dr'], findings: [], lastRun },
      { name: 'server3', state: 'online', heartbeatAgeMs: 800, address: '172.25.7.3', os, load1: 0.02, memory: { free: 1.6 * GiB, total: 2 * GiB }, uptimeS: 86_400 * 3, roles: ['rhel-repos', 'firewall-off', 'httpd', 'lvs-realserver-dr'], findings: [], lastRun },
      {
        name: 'server4',
        state: 'online',
        heartbeatAgeMs: 2100,
        address: '172.25.7.4',
        os,
        load1: 0.11,
        memory: { free: 1.5 * GiB, total: 2 * GiB },
        uptimeS: 7200,
        roles: ['rhel-repos', 'firewall-off', 'httpd', 'lvs-realserver-dr'],
        findings: [
          { role: 'lvs-realserver-dr', task: 'arp_ignore for all', field: 'net.ipv4.conf.all.arp_ignore', before: '0', after: '1', text: 'net.ipv4.conf.all.arp_ignore is 0, want 1', firstSeen: ago(40) },
        ],
        lastRun: { ...lastRun, id: 'r-0043', title: 'drift fix', status: 'failed', label: 'corrective', finishedAt: ago(30) },
      },
      { name: 'client', state: 'offline', heartbeatAgeMs: 3_600_000 * 2, address: '172.25.7.10', os: { distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-21-amd64' }, roles: [], findings: [] },
    ],
    directors: [
      {
        host: 'server2',
        services: [
          {
            key: 'tcp:172.25.7.200:80',
            label: 'TCP 172.25.7.200:80',
            scheduler: 'wrr',
            connRate: 12,
            realServers: [
              { address: '172.25.7.3:80', host: 'server3', forwarding: 'dr', weight: { declared: 3, live: 0 }, health: { state: 'down', reason: 'HTTP 503', lastCheck: ago(1), checkMs: 4, since: ago(25) }, drained: false, activeConn: 0, inactConn: 7, connRate: 0 },
              { address: '172.25.7.4:80', host: 'server4', forwarding: 'dr', weight: { declared: 1, live: 1 }, health: { state: 'up', lastCheck: ago(1), checkMs: 3, since: ago(7200) }, drained: false, activeConn: 4, inactConn: 31, connRate: 12 },
            ],
          },
        ],
      },
    ],
    events: [
      { at: ago(25), kind: 'health', host: 'server2', text: 'real server 172.25.7.3:80 of TCP 172.25.7.200:80 down: HTTP 503 (weight 3 -> 0)', level: 'warn' },
      { at: ago(30), kind: 'run', host: 'server4', text: 'corrective run r-0043 failed: task "arp_ignore for all"', level: 'error' },
      { at: ago(40), kind: 'drift-found', host: 'server4', text: 'net.ipv4.conf.all.arp_ignore is 0, want 1', level: 'warn' },
      { at: ago(300), kind: 'drift-resolved', host: 'server3', text: '172.25.7.200/32 missing on lo', level: 'info' },
      { at: ago(600), kind: 'run', text: 'intentional run r-0042 (playbook site.yml): ok on 4 hosts', level: 'info' },
      { at: ago(3600), kind: 'refusal', text: 'agent refused: certificate revoked (claimed server5, 172.25.7.99)', level: 'error' },
      { at: ago(7200), kind: 'enrollment', host: 'server4', text: 'server4 enrolled', level: 'info' },
    ],
  };
}
