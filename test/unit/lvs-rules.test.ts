import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import address, { placedAddresses } from '../../agent/modules/address.js';
import ipvs, { declaredServices } from '../../agent/modules/ipvs.js';
import { isCtlError } from '../../common/errors.js';
import { checkCluster, lintCluster, lintLine } from '../../controller/lint.js';
import { planRun, type PlanEnv, type RunRequest } from '../../controller/plan-run.js';
import { loadRole } from '../../controller/roles.js';
import { facts } from '../helpers/fake-ctx.js';
import { REPO } from '../helpers/procs.js';
import { sourceFile } from '../../cli/source-file.js';

/**
 * The cluster check must not depend on what roles are called or on defaults it could repeat:
 * every rule is proved again with the LVS roles under other names, and the ipvs defaults are
 * taken from the module's own schema.
 */

const ADDR: Record<string, string> = { server2: '172.25.7.2', server3: '172.25.7.3', server4: '172.25.7.4' };
const netFacts = (h: string) => facts({ hostname: h, interfaces: [{ name: 'eth0', ip4: ADDR[h] ?? '', ip4subnet: '255.255.255.0', mac: '', operstate: 'up' }] });

function env(projectDir: string): PlanEnv {
  return { projectDir, online: () => true, facts: netFacts, ledger: () => [] };
}

/** Names that say nothing of the mode: only meta.yml can tell the check what each role is. */
const RENAMED: Record<string, string> = {
  'lvs-director': 'lb-core',
  'lvs-director-nat': 'balancer-a',
  'lvs-director-tun': 'balancer-b',
  'lvs-director-dr': 'balancer-c',
  'lvs-realserver-nat': 'backend-a',
  'lvs-realserver-tun': 'backend-b',
  'lvs-realserver-dr': 'backend-c',
};

function project(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-rules-'));
  for (const r of ['httpd', 'rhel-repos', 'firewall-off']) cpSync(path.join(REPO, 'roles', r), path.join(dir, 'roles', r), { recursive: true });
  for (const [from, to] of Object.entries(RENAMED)) {
    cpSync(path.join(REPO, 'roles', from), path.join(dir, 'roles', to), { recursive: true });
    const meta = path.join(dir, 'roles', to, 'meta.yml');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace('base: lvs-director', 'base: lb-core'));
  }
  return dir;
}

const renamed = project();

function book(name: string, realservers: string, director: string): string {
  const file = path.join(renamed, `${name}.yml`);
  writeFileSync(file, `- hosts: realservers\n  roles: [httpd, ${realservers}]\n- hosts: directors\n  roles: [${director}]\n`);
  return file;
}

async function lines(req: RunRequest, dir = renamed): Promise<string[]> {
  return lintCluster(await planRun(req, env(dir)), netFacts).map(lintLine);
}

// Files outside the project are sent by content, as ctl does.
const inventory = (mode: string) => sourceFile(path.join(REPO, `inventory/${mode}.yml`), 'inventory');

for (const [mode, rs, director] of [
  ['nat', 'backend-a', 'balancer-a'],
  ['tun', 'backend-b', 'balancer-b'],
  ['dr', 'backend-c', 'balancer-c'],
] as const) {
  test(`renamed ${mode} roles render a cluster that passes`, async (t) => {
    t.deepEqual(await lines({ kind: 'playbook', playbook: book(`ok-${mode}`, rs, director), inventory: inventory(mode) }), []);
  });
}

test('renamed roles: NAT real server whose gateway is not the director', async (t) => {
  const got = await lines({ kind: 'playbook', playbook: book('nat', 'backend-a', 'balancer-a'), inventory: inventory('nat'), extraVars: { lvs_director_address: '172.25.7.9' } });
  t.true(got.includes("server3: lvs_director_address: NAT real server's gateway is 172.25.7.9, not the director server2 (172.25.7.2)"), got.join('\n'));
});

test('renamed roles: a real server role whose mode does not match the director', async (t) => {
  const got = await lines({ kind: 'playbook', playbook: book('mixed', 'backend-b', 'balancer-c'), inventory: inventory('dr') });
  t.true(got.includes('server4: lvs_mode: real server runs backend-b but server2 forwards to it with dr'), got.join('\n'));
});

test('a role named like another mode is judged by its meta.yml, not its name', async (t) => {
  const dir = project();
  cpSync(path.join(REPO, 'roles/lvs-realserver-tun'), path.join(dir, 'roles/lvs-realserver-dr'), { recursive: true });
  writeFileSync(path.join(dir, 'liar.yml'), '- hosts: realservers\n  roles: [lvs-realserver-dr]\n- hosts: directors\n  roles: [balancer-c]\n');
  const got = await lines({ kind: 'playbook', playbook: path.join(dir, 'liar.yml'), inventory: inventory('dr') }, dir);
  t.true(got.includes('server3: lvs_mode: real server runs lvs-realserver-dr but server2 forwards to it with dr'), got.join('\n'));
});

test('renamed roles: a DR real server without the VIP, and one off the director segment', async (t) => {
  const inv = path.join(renamed, 'inv.yml');
  writeFileSync(
    inv,
    'all:\n  vars: {lvs_mode: dr}\n  children:\n    lvs:\n      children:\n        directors: {hosts: {server2: {ansible_host: 172.25.7.2}}}\n        realservers:\n          hosts:\n            server3: {ansible_host: 172.25.7.3, lvs_vip: 172.25.7.201}\n            server4: {ansible_host: 10.9.9.4}\n',
  );
  const got = await lines({ kind: 'playbook', playbook: book('dr', 'backend-c', 'balancer-c'), inventory: inv });
  t.true(got.includes('server3: lvs_vip: DR real server does not hold the VIP 172.25.7.200 on lo'), got.join('\n'));
  t.true(got.includes("server4: ansible_host: DR real server 10.9.9.4 is not on the director's segment 172.25.7.2/24"), got.join('\n'));
});

test('renamed roles: a VIP that is the address of a host', async (t) => {
  const got = await lines({ kind: 'playbook', playbook: book('vip', 'backend-c', 'balancer-c'), inventory: inventory('dr'), extraVars: { lvs_vip: '172.25.7.4' } });
  t.true(got.includes('server2: lvs_vip: VIP 172.25.7.4 is the address of host server4'), got.join('\n'));
});

test('a director role whose meta.yml mode differs from what it declares is refused', async (t) => {
  const got = await lines({ kind: 'playbook', playbook: book('fwd', 'backend-a', 'balancer-a'), inventory: inventory('nat'), extraVars: { lvs_forwarding: 'tun' } });
  t.true(got.includes('server2: lvs_forwarding: balancer-a is a nat director (meta.yml) but forwards tcp:172.25.254.100:80 to 172.25.7.3 with tun'), got.join('\n'));
});

/** The ipvs schema's own defaults, through the helper the check reads them with. */
function ipvsDefaults(): { protocol: string; forwarding: string } {
  const [s] = declaredServices(ipvs.schema.parse({ services: [{ address: '10.0.0.1', port: 80, realServers: [{ address: '10.0.0.2' }] }] }));
  return { protocol: s.protocol, forwarding: s.realServers[0].forwarding };
}

function defaultsProject(): string {
  const dir = project();
  const { forwarding } = ipvsDefaults();
  const other = ['nat', 'tun', 'dr'].find((m) => m !== forwarding)!;
  const role = (name: string, files: Record<string, string>) => {
    mkdirSync(path.join(dir, 'roles', name), { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, 'roles', name, f), text);
  };
  const service = (extra: string, rs: string) =>
    `- ipvs:\n    services:\n      - address: 172.25.7.200\n        port: 80\n${extra}        realServers:\n          - address: ${rs}\n`;
  // Neither protocol nor forwarding: whatever the ipvs schema fills in is what the check sees.
  role('vs-plain', { 'tasks.yml': service('', '172.25.7.3'), 'meta.yml': 'cluster: { part: director }\n' });
  role('vs-explicit', { 'tasks.yml': service(`        protocol: ${ipvsDefaults().protocol}\n`, '172.25.7.4'), 'meta.yml': 'cluster: { part: director }\n' });
  role('rs-default', { 'tasks.yml': '- sysctl: { name: net.ipv4.conf.all.arp_ignore, value: 1 }\n', 'meta.yml': `cluster: { part: realserver, mode: ${forwarding} }\n` });
  role('rs-other', { 'tasks.yml': '- sysctl: { name: net.ipv4.conf.all.arp_ignore, value: 1 }\n', 'meta.yml': `cluster: { part: realserver, mode: ${other} }\n` });
  writeFileSync(path.join(dir, 'defaults.yml'), '- hosts: server2\n  roles: [vs-plain]\n- hosts: server3\n  roles: [vs-explicit, rs-default]\n- hosts: server4\n  roles: [rs-other]\n');
  return dir;
}

test('a task without protocol or forwarding is checked with the ipvs schema defaults', async (t) => {
  const dir = defaultsProject();
  const { protocol, forwarding } = ipvsDefaults();
  const p = await planRun({ kind: 'playbook', playbook: path.join(dir, 'defaults.yml'), inventory: inventory('dr') }, env(dir));
  const got = lintCluster(p, netFacts).map(lintLine);
  // Same key as the task that spells the default out: the check did not assume another one.
  t.true(got.includes(`server3: lvs_vip: VIP ${protocol}:172.25.7.200:80 is used by two services (also on server2, with other real servers)`), got.join('\n'));
  // server3 is a real server of the default forwarding mode: no mode complaint for it.
  t.false(got.some((l) => l.startsWith('server3: lvs_mode:')), got.join('\n'));
  t.true(got.includes(`server4: lvs_mode: real server runs rs-other but server3 forwards to it with ${forwarding}`), got.join('\n'));
});

test('an address on an alias label is placed on the device itself, as the address module does', (t) => {
  t.deepEqual(placedAddresses(address.schema.parse({ address: '172.25.7.200', device: 'lo:0' })), [{ device: 'lo', label: 'lo:0', address: '172.25.7.200', prefix: 32 }]);
  t.deepEqual(placedAddresses(address.schema.parse({ address: '172.25.7.200/32', device: 'lo', state: 'absent' })), []);
});

test('without facts the segment check is skipped and every other rule still runs', async (t) => {
  const inv = path.join(renamed, 'inv-offline.yml');
  writeFileSync(
    inv,
    'all:\n  vars: {lvs_mode: dr}\n  children:\n    lvs:\n      children:\n        directors: {hosts: {server2: {ansible_host: 172.25.7.2}}}\n        realservers:\n          hosts:\n            server3: {ansible_host: 172.25.7.3, lvs_vip: 172.25.7.201}\n            server4: {ansible_host: 10.9.9.4}\n',
  );
  const p = await planRun({ kind: 'playbook', playbook: book('offline', 'backend-c', 'balancer-c'), inventory: inv }, { ...env(renamed), facts: () => undefined, online: () => false, renderOffline: true });
  const offline = checkCluster(p);
  t.deepEqual(offline.skipped, [{ rule: 'L2 segment check', reason: 'no facts' }]);
  t.deepEqual(offline.issues.map(lintLine), ['server3: lvs_vip: DR real server does not hold the VIP 172.25.7.200 on lo']);
  const noAgent = checkCluster(p, (h) => (h === 'server2' ? undefined : netFacts(h)));
  t.deepEqual(noAgent.skipped, [{ rule: 'L2 segment check', host: 'server2', reason: 'no facts: its agent has not connected' }]);
  const online = checkCluster(p, netFacts);
  t.deepEqual(online.skipped, []);
  t.true(online.issues.map(lintLine).includes("server4: ansible_host: DR real server 10.9.9.4 is not on the director's segment 172.25.7.2/24"));
});

for (const [meta, where] of [
  ['cluster: { part: realserver }\n', /meta\.yml:1: cluster\.mode: a realserver needs its mode \(nat, tun or dr\)$/],
  ['slot: x\ncluster:\n  part: balancer\n', /meta\.yml:3: cluster\.part: must be one of director, realserver$/],
  ['cluster: { part: director, mode: dr, extra: 1 }\n', /meta\.yml:1: cluster\.extra: unknown key 'extra' \(known: part, mode\)$/],
  ['slot: x\nclusterr: {}\n', /meta\.yml:2: clusterr: unknown key 'clusterr' \(known: slot, base, cluster\)$/],
  ['cluster: director\n', /meta\.yml:1: cluster: must be a mapping like \{ part: realserver, mode: dr \}$/],
] as const) {
  test(`meta.yml is validated with file, line and field: ${meta.trim().replace(/\n/g, ' ')}`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-meta-'));
    mkdirSync(path.join(dir, 'r'));
    writeFileSync(path.join(dir, 'r', 'tasks.yml'), '- sysctl: { name: net.ipv4.ip_forward, value: 1 }\n');
    writeFileSync(path.join(dir, 'r', 'meta.yml'), meta);
    const e = await t.throwsAsync(loadRole(dir, 'r'));
    t.true(isCtlError(e) && e.code === 'CTL_ERR_ROLE_PARSE', String(e));
    t.regex(isCtlError(e) ? e.oneLine() : '', where);
  });
}

test('a role built on another takes its cluster part unless it says its own', async (t) => {
  t.deepEqual((await loadRole(path.join(REPO, 'roles'), 'lvs-director')).cluster, { part: 'director' });
  t.deepEqual((await loadRole(path.join(REPO, 'roles'), 'lvs-director-tun')).cluster, { part: 'director', mode: 'tun' });
  t.deepEqual((await loadRole(path.join(REPO, 'roles'), 'lvs-realserver-nat')).cluster, { part: 'realserver', mode: 'nat' });
});
