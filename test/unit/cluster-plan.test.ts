import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planRun, type PlanEnv, type RunRequest } from '../../controller/plan-run.js';
import { lintCluster, lintLine } from '../../controller/lint.js';
import type { PlannedTask } from '../../controller/roles.js';
import type { LedgerEntry } from '../../controller/store.js';
import { MODULES } from '../../agent/modules/index.js';
import { facts } from '../helpers/fake-ctx.js';
import { REPO } from '../helpers/procs.js';

const ADDR: Record<string, string> = { server2: '172.25.7.2', server3: '172.25.7.3', server4: '172.25.7.4' };

function env(ledger: Record<string, Record<string, LedgerEntry[]>> = {}): PlanEnv {
  return {
    projectDir: REPO,
    online: () => true,
    facts: (h) => facts({ hostname: h, interfaces: [{ name: 'eth0', ip4: ADDR[h] ?? '', ip4subnet: '255.255.255.0', mac: '', operstate: 'up' }] }),
    ledger: (h, slot) => ledger[h]?.[slot] ?? [],
  };
}

const site = (mode: string, extra: Partial<RunRequest> = {}): RunRequest => ({ kind: 'playbook', playbook: 'site.yml', inventory: `inventory/${mode}.yml`, ...extra });

/** A task as rendering leaves it: the arguments parsed by the module's own schema beside them. */
function parsedTask(module: string, args: Record<string, unknown>): PlannedTask {
  return { task: { name: module, module, args }, parsed: MODULES.get(module)!.schema.parse(args) };
}

function tasks(p: Awaited<ReturnType<typeof planRun>>, host: string) {
  return p.spec.plays.flatMap((pl) => pl.hosts[host] ?? []);
}

for (const [mode, fwd, vip] of [
  ['nat', 'nat', '172.25.254.100'],
  ['tun', 'tun', '172.25.7.100'],
  ['dr', 'dr', '172.25.7.200'],
] as const) {
  test(`site.yml renders the ${mode} cluster and passes the cluster check`, async (t) => {
    const p = await planRun(site(mode), env());
    t.deepEqual(lintCluster(p, env().facts).map(lintLine), []);
    t.deepEqual(p.spec.plays.map((pl) => Object.keys(pl.hosts)), [['server2', 'server3', 'server4'], ['server3', 'server4'], ['server2']]);
    const ipvs = tasks(p, 'server2').find((x) => x.module === 'ipvs')!;
    t.deepEqual(ipvs.args.services, [
      {
        protocol: 'tcp',
        address: vip,
        port: 80,
        scheduler: 'rr',
        persistent: false,
        realServers: [
          { address: '172.25.7.3', port: 80, forwarding: fwd, weight: 1 },
          { address: '172.25.7.4', port: 80, forwarding: fwd, weight: 1 },
        ],
        // The role's default check: http GET / on each real server's port.
        healthcheck: { type: 'http', path: '/' },
      },
    ]);
    const director = tasks(p, 'server2');
    t.deepEqual(director.find((x) => x.module === 'address')!.args, { address: `${vip}/24`, device: 'eth0:0' });
    t.is(director.find((x) => x.module === 'kernel_module')!.skip === undefined, mode === 'nat', 'iptable_nat only in NAT mode');
    const rs = tasks(p, 'server3');
    t.is(rs.find((x) => x.module === 'file')!.args.content, 'server3-hk\n');
    if (mode === 'nat') t.deepEqual(rs.find((x) => x.module === 'gateway')!.args, { address: '172.25.7.2', device: 'eth0' });
    if (mode === 'dr') t.deepEqual(rs.find((x) => x.module === 'address')!.args, { address: '172.25.7.200/32', device: 'lo:0' });
    if (mode === 'tun') t.deepEqual(rs.find((x) => x.module === 'address')!.args, { address: '172.25.7.100/32', device: 'tunl0' });
  });
}

test('rhel-repos renders the five repositories of the reference', async (t) => {
  const p = await planRun(site('dr'), env());
  const repos = tasks(p, 'server3').filter((x) => x.module === 'yum_repo');
  t.deepEqual(repos.map((r) => [r.args.name, r.args.baseurl]), [
    ['rhel-source', 'http://172.25.7.250/rhel6.5'],
    ['HighAvailability', 'http://172.25.7.250/rhel6.5/HighAvailability'],
    ['LoadBalancer', 'http://172.25.7.250/rhel6.5/LoadBalancer'],
    ['ResilientStorage', 'http://172.25.7.250/rhel6.5/ResilientStorage'],
    ['ScalableFileSystem', 'http://172.25.7.250/rhel6.5/ScalableFileSystem'],
  ]);
});

test('cluster check: NAT real server whose gateway is not the director', async (t) => {
  const p = await planRun(site('nat', { extraVars: { lvs_director_address: '172.25.7.9' } }), env());
  const lines = lintCluster(p, env().facts).map(lintLine);
  t.true(lines.includes("server3: lvs_director_address: NAT real server's gateway is 172.25.7.9, not the director server2 (172.25.7.2)"), lines.join('\n'));
});

test('cluster check: mode that does not match the realserver role, and a DR real server without the VIP', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-lint-'));
  const book = path.join(dir, 'mixed.yml');
  writeFileSync(book, '- hosts: realservers\n  roles: [lvs-realserver-tun]\n- hosts: directors\n  roles: [lvs-director-dr]\n');
  // Files outside the project go by content, as ctl sends them.
  const mixed = await planRun({ kind: 'playbook', playbook: { name: book, content: readFileSync(book, 'utf8') }, inventory: 'inventory/dr.yml' }, env());
  t.true(lintCluster(mixed, env().facts).map(lintLine).includes('server4: lvs_mode: real server runs lvs-realserver-tun but server2 forwards to it with dr'));

  const inv = path.join(dir, 'inv.yml');
  writeFileSync(
    inv,
    'all:\n  vars: {lvs_mode: dr}\n  children:\n    lvs:\n      children:\n        directors: {hosts: {server2: {ansible_host: 172.25.7.2}}}\n        realservers:\n          hosts:\n            server3: {ansible_host: 172.25.7.3, lvs_vip: 172.25.7.201}\n            server4: {ansible_host: 10.9.9.4}\n',
  );
  const lines = lintCluster(await planRun({ kind: 'playbook', playbook: 'site.yml', inventory: { name: inv, content: readFileSync(inv, 'utf8') } }, env()), env().facts).map(lintLine);
  t.true(lines.includes('server3: lvs_vip: DR real server does not hold the VIP 172.25.7.200 on lo'), lines.join('\n'));
  t.true(lines.includes("server4: ansible_host: DR real server 10.9.9.4 is not on the director's segment 172.25.7.2/24"), lines.join('\n'));
});

test('cluster check: a VIP used by two services, a VIP that is a host address, a real server outside the inventory', async (t) => {
  const p = await planRun(site('dr'), env());
  const ipvs = (h: string, address: string, rs: string[]) => parsedTask('ipvs', { services: [{ protocol: 'tcp', address, port: 80, realServers: rs.map((a) => ({ address: a, forwarding: 'nat' })) }] });
  p.tasks = { server2: [ipvs('server2', '172.25.7.200', ['172.25.7.3'])], server3: [ipvs('server3', '172.25.7.200', ['172.25.7.4']), ipvs('server3', '172.25.7.4', ['10.1.1.1'])] };
  const lines = lintCluster(p, env().facts).map(lintLine);
  t.true(lines.includes('server3: lvs_vip: VIP tcp:172.25.7.200:80 is used by two services (also on server2, with other real servers)'), lines.join('\n'));
  t.true(lines.includes('server3: lvs_vip: VIP 172.25.7.4 is the address of host server4'), lines.join('\n'));
  t.true(lines.includes('server3: lvs_realservers_group: real server 10.1.1.1 of tcp:172.25.7.4:80 is not a host of the inventory'), lines.join('\n'));
});

test('switching mode retires what the old slot owned and the new one does not declare', async (t) => {
  const tun = await planRun(site('tun'), env());
  const owned = tun.spec.ledger!;
  t.truthy(owned.server3['lvs-realserver'].find((e) => e.id.includes('tunl0')), JSON.stringify(owned.server3));
  const dr = await planRun(site('dr'), env(owned));
  const rs = tasks(dr, 'server3');
  const retired = rs.filter((x) => x.name.startsWith('retire '));
  t.true(retired.length > 0);
  t.true(retired.every((r) => r.role === 'lvs-realserver'));
  const firstDr = rs.findIndex((x) => x.role === 'lvs-realserver-dr');
  t.true(rs.findIndex((x) => x.name.startsWith('retire ')) < firstDr, 'retired before the new mode is put in place');
  t.true(retired.some((r) => r.module === 'address' && (r.args as { state?: string }).state === 'absent' && String(r.args.address).startsWith('172.25.7.100')));
  const again = await planRun(site('dr'), env(dr.spec.ledger));
  t.deepEqual(tasks(again, 'server3').filter((x) => x.name.startsWith('retire ')), [], 'nothing to retire once converged');
});
