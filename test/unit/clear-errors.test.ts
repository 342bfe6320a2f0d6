import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import { parseExtraVars } from '../../cli/extra-vars.js';
import { buildController } from '../../controller/app.js';
import { planRun, type RunRequest } from '../../controller/plan-run.js';
import { loadSchedules } from '../../controller/schedules.js';

/** Bad input found by trying it: each error names the file, line and field to fix. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-errors-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const f = path.join(dir, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
}

write('hosts.ini', '[web]\nweb1\nweb2\n');
write(
  'roles/motd/tasks.yml',
  [
    '- name: motd',
    '  file:',
    '    path: /etc/motd',
    '    content: "{{ inventory_hostname }} {{ motd_owner }}"',
    '- name: vip',
    '  address:',
    '    address: "{{ vip_cidr }}"',
    '    device: lo:0',
    '- name: loop',
    '  sysctl: {name: "net.ipv4.conf.{{ item }}.arp_ignore", value: 1}',
    '  loop:',
    '    - lo',
    '    - "{{ nic }}"',
  ].join('\n') + '\n',
);
write('roles/motd/defaults.yml', 'motd_owner: ops\nvip_cidr: "{{ vip }}/32"\nvip: 10.0.0.1\nnic: eth0\n');

const env = { projectDir: dir, ledger: () => [], facts: () => undefined, online: () => true };
const role = (extraVars: Record<string, unknown>): RunRequest => ({ kind: 'role', role: 'motd', hosts: 'web', inventory: 'hosts.ini', extraVars });

async function fails(t: import('ava').ExecutionContext, req: RunRequest): Promise<CtlError> {
  return t.throwsAsync(planRun(req, env), { instanceOf: CtlError });
}

test('an undefined variable is named, at the line of the field that uses it', async (t) => {
  const tasks = path.join(dir, 'roles/motd/tasks.yml');
  const e = await fails(t, role({ motd_owner: '{{ owner }}' }));
  t.is(e.oneLine(), `${tasks}:4: file.content: task 'motd': variable 'motd_owner' ("{{ owner }}"): undefined variable 'owner'`);
  const e2 = await fails(t, role({ vip: '{{ nope.x }}' }));
  t.is(e2.oneLine(), `${tasks}:7: address.address: task 'vip': variable 'vip_cidr' ("{{ vip }}/32"): undefined variable 'nope'`);
  const e3 = await fails(t, role({ nic: '{{ missing }}' }));
  t.is(e3.code, 'CTL_ERR_TEMPLATE');
  t.is(e3.oneLine(), `${tasks}:13: loop.1: task 'loop': variable 'nic' ("{{ missing }}"): undefined variable 'missing'`);
  const e4 = await fails(t, role({ nic: null }));
  t.is(e4.oneLine(), `${tasks}:10: sysctl.name: task 'loop': variable 'item' is empty (null)`);
});

test('a playbook naming a missing role is refused at the playbook line naming it', async (t) => {
  const pb = write('site.yml', '- hosts: web\n  roles:\n    - motd\n    - motdd\n');
  const e = await fails(t, { kind: 'playbook', playbook: 'site.yml', inventory: 'hosts.ini' });
  t.is(e.code, 'CTL_ERR_ROLE_NOT_FOUND');
  t.is(e.where.file, pb);
  t.is(e.where.line, 4);
  t.regex(e.oneLine(), /site\.yml:4: roles: unknown role 'motdd'/);
});

test('errors in meta.yml name meta.yml and the line', async (t) => {
  write('roles/based/meta.yml', 'slot: web\nbase: nothere\n');
  const e = await fails(t, { kind: 'role', role: 'based', hosts: 'web', inventory: 'hosts.ini' });
  t.regex(e.oneLine(), /roles\/based\/meta\.yml:2: base: unknown role 'nothere'/);
  write('roles/odd/meta.yml', 'slot: web\nbsae: motd\n');
  const e2 = await fails(t, { kind: 'role', role: 'odd', hosts: 'web', inventory: 'hosts.ini' });
  t.regex(e2.oneLine(), /roles\/odd\/meta\.yml:2: bsae: unknown key 'bsae' \(known: slot, base, cluster\)/);
  write('roles/loop-a/meta.yml', 'base: loop-b\n');
  write('roles/loop-b/meta.yml', '\nbase: loop-a\n');
  const e3 = await fails(t, { kind: 'role', role: 'loop-a', hosts: 'web', inventory: 'hosts.ini' });
  t.regex(e3.oneLine(), /roles\/loop-b\/meta\.yml:2: base: role 'loop-a' is its own base: loop-a > loop-b > loop-a/);
});

test('a malformed host pattern is a syntax error, not a pattern matching no host', async (t) => {
  const e = await fails(t, { kind: 'role', role: 'motd', hosts: 'web[3:', inventory: 'hosts.ini' });
  t.is(e.code, 'CTL_ERR_PATTERN_SYNTAX');
  t.notRegex(e.message, /matches no host/);
});

test('a bad -e mapping keeps its whole message with the position', (t) => {
  const e = t.throws(() => parseExtraVars(['{"weight": 2, "vip": "10.0.0.1"']), { instanceOf: CtlError });
  t.is(e.oneLine(), `-e: '{"weight": 2, "vip": "10.0.0.1"' is not a valid JSON or YAML mapping: Flow map must end with a } (line 1, column 32)`);
  const f = write('vars.yml', 'a: 1\nb: [1, 2\n');
  const e2 = t.throws(() => parseExtraVars([`@${f}`]), { instanceOf: CtlError });
  t.regex(e2.oneLine(), new RegExp(`^${f}:\\d+: -e: is not a valid JSON or YAML mapping: .+\\(column \\d+\\)$`));
});

test('a schedule naming a missing playbook or inventory refuses the controller start', async (t) => {
  const sched = write('schedules.yml', '- name: nightly\n  cron: "0 3 * * *"\n  playbook: nope.yml\n  inventory: hosts.ini\n');
  const e = await t.throwsAsync(buildController({ dataDir: path.join(dir, 'data'), token: 't', projectDir: dir }), { instanceOf: CtlError });
  t.is(e.oneLine(), `${sched}:1: playbook: schedule 'nightly': playbook 'nope.yml' does not exist (${path.join(dir, 'nope.yml')})`);
  write('schedules.yml', '- name: nightly\n  cron: "0 3 * * *"\n  playbook: site.yml\n  inventory: [hosts.ini, gone.ini]\n');
  await t.throwsAsync(loadSchedules(sched, dir), { message: /inventory 'gone\.ini' does not exist/ });
  rmSync(sched);
});
