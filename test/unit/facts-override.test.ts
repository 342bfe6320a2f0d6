import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import { factsOverride } from '../../controller/facts-override.js';
import { planRun, type PlanEnv } from '../../controller/plan-run.js';
import { facts } from '../helpers/fake-ctx.js';
import { REPO } from '../helpers/procs.js';
import { sourceFile } from '../../cli/source-file.js';

const env: PlanEnv = { projectDir: REPO, online: () => true, facts: (h) => facts({ hostname: h, pkgManager: 'dnf', initSystem: 'systemd' }), ledger: () => [] };

test('ansible_pkg_mgr / ansible_service_mgr become the job facts override; nothing set, nothing sent', (t) => {
  t.deepEqual(factsOverride('server3', { ansible_pkg_mgr: 'yum', ansible_service_mgr: 'sysvinit' }), { pkgManager: 'yum', initSystem: 'sysv' });
  t.deepEqual(factsOverride('server3', { ansible_service_mgr: 'systemd' }), { initSystem: 'systemd' });
  t.is(factsOverride('server3', { lvs_vip: '172.25.7.200' }), undefined);
  const e = t.throws(() => factsOverride('server3', { ansible_pkg_mgr: 'zypper' }), { instanceOf: CtlError }) as CtlError;
  t.is(e.code, 'CTL_ERR_INVENTORY_PARSE');
  t.is(e.oneLine(), `ansible_pkg_mgr: host server3: "zypper" is not one of dnf, yum, apt`);
});

test('an inventory var wins over the agent\'s facts: in the job sent and in the facts the templates see', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-inv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const inv = path.join(dir, 'hosts.ini');
  writeFileSync(inv, '[realservers]\nserver3 ansible_host=172.25.7.3 ansible_pkg_mgr=apt\nserver4 ansible_host=172.25.7.4\n\n[lvs:children]\nrealservers\n');
  const p = await planRun({ kind: 'role', role: 'lvs-realserver-dr', hosts: 'realservers', inventory: [path.join(REPO, 'inventory/dr.yml'), sourceFile(inv, 'inventory')] }, env);
  t.deepEqual(p.spec.plays[0].factsOverride, { server3: { pkgManager: 'apt' } });
  t.is((p.vars.server3.facts as { pkgManager: string }).pkgManager, 'apt');
  t.is((p.vars.server4.facts as { pkgManager: string }).pkgManager, 'dnf', 'a host without the var keeps its facts');

  // -e sets it for every host of the run, as Ansible's extra vars do.
  const e = await planRun({ kind: 'role', role: 'lvs-realserver-dr', hosts: 'realservers', inventory: [path.join(REPO, 'inventory/dr.yml'), sourceFile(inv, 'inventory')], extraVars: { ansible_service_mgr: 'sysv' } }, env);
  t.deepEqual(e.spec.plays[0].factsOverride, { server3: { pkgManager: 'apt', initSystem: 'sysv' }, server4: { initSystem: 'sysv' } });

  await t.throwsAsync(planRun({ kind: 'role', role: 'lvs-realserver-dr', hosts: 'realservers', inventory: [sourceFile(inv, 'inventory')], extraVars: { ansible_pkg_mgr: 'pacman' } }, env), { message: /"pacman" is not one of dnf, yum, apt/ });
});
