import test from 'ava';
import { readFileSync } from 'node:fs';
import firewall from '../../agent/modules/firewall.js';
import { parseIptablesSave } from '../../agent/kstate/iptables.js';
import type { ServiceObserved } from '../../agent/providers/service-provider.js';
import { runOne } from '../../agent/runner.js';
import { describeIssues } from '../../agent/validate.js';
import { ctxFor, facts, fakeExec } from '../helpers/fake-ctx.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/firewall/${f}`, import.meta.url), 'utf8');
const RULES = fixture('iptables-save-rules.txt');
const EMPTY = fixture('iptables-save-empty.txt');
const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv', pkgManager: 'yum' });
const RHEL9 = facts();

const iptablesSvc = (running: boolean, on: boolean): ServiceObserved => ({
  provider: 'sysv',
  name: 'iptables',
  exists: true,
  running,
  runningText: running ? 'running' : 'stopped',
  enabled: on ? 'on' : 'off',
  enabledText: on ? '0:off 1:off 2:on 3:on 4:on 5:on 6:off' : '0:off 1:off 2:off 3:off 4:off 5:off 6:off',
});
const observed = (text: string | null, service: ServiceObserved | null, stopUnloads = false) => {
  const p = text === null ? null : parseIptablesSave(text);
  return { tables: p?.tables ?? null, warnings: p?.warnings ?? [], service, serviceName: service ? service.name : null, stopUnloads };
};
const OFF = firewall.schema.parse({ state: 'off' });

test('iptables-save: tables, policies, user chains and rules from a real capture', (t) => {
  const { tables, warnings } = parseIptablesSave(RULES);
  t.deepEqual(tables.map((x) => x.name), ['mangle', 'raw', 'filter', 'nat']);
  const filter = tables.find((x) => x.name === 'filter')!;
  t.deepEqual(filter.chains, [
    { name: 'INPUT', policy: 'ACCEPT' },
    { name: 'FORWARD', policy: 'DROP' },
    { name: 'OUTPUT', policy: 'ACCEPT' },
    { name: 'MYCHAIN', policy: null },
  ]);
  t.is(filter.rules.length, 8);
  t.is(tables.find((x) => x.name === 'nat')!.rules[0], '-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE');
  t.deepEqual(warnings, []);
  t.deepEqual(parseIptablesSave('# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n').warnings, [
    'Warning: iptables-legacy tables present, use iptables-legacy-save to see them',
  ]);
});

test('plan off (RHEL 6): stop and disable iptables, flush every table, delete user chains, ACCEPT policies', (t) => {
  const p = firewall.plan(OFF, observed(RULES, iptablesSvc(true, true)), ctxFor('/'));
  t.deepEqual(p.changes, [
    { kind: 'service', change: { kind: 'stop', provider: 'sysv', name: 'iptables' } },
    { kind: 'service', change: { kind: 'disable', provider: 'sysv', name: 'iptables' } },
    { kind: 'flush', table: 'mangle', rules: 1 },
    { kind: 'flush', table: 'raw', rules: 1 },
    { kind: 'flush', table: 'filter', rules: 8 },
    { kind: 'delete-chains', table: 'filter', chains: ['MYCHAIN'] },
    { kind: 'policy', table: 'filter', chain: 'FORWARD' },
    { kind: 'flush', table: 'nat', rules: 1 },
  ]);
  for (const rule of RULES.split('\n').filter((l) => l.startsWith('-A '))) t.true(p.before.includes(rule), `diff reports ${rule}`);
  t.false(p.after.includes('-A '), 'no rule left');
  t.true(p.after.includes(':FORWARD ACCEPT') && !p.after.includes('MYCHAIN'));
  t.true(p.after.includes('*nat\n:PREROUTING ACCEPT'), 'the nat table stays: flushing does not unload iptable_nat');
  t.regex(p.before, /^iptables: running\niptables at boot: 0:off 1:off 2:on/);
  t.regex(p.after, /^iptables: stopped\niptables at boot: disabled/);
  t.regex(p.msg ?? '', /flushes 11 iptables rules/);
});

test('plan off when already off, and when the service does not exist on the host', (t) => {
  t.deepEqual(firewall.plan(OFF, observed(EMPTY, iptablesSvc(false, false)), ctxFor('/')).changes, []);
  const gone: ServiceObserved = { provider: 'sysv', name: 'iptables', exists: false };
  const p = firewall.plan(OFF, observed(RULES, gone), ctxFor('/'));
  t.false(p.changes.some((c) => c.kind === 'service'));
  t.true(p.changes.some((c) => c.kind === 'flush'));
  t.regex(p.msg ?? '', /service iptables not found on this host: service part skipped/);
  const none = firewall.plan(OFF, observed(EMPTY, null), ctxFor('/'));
  t.deepEqual(none.changes, []);
  t.regex(none.msg ?? '', /no init system/);
  t.regex(firewall.plan(OFF, observed(null, null), ctxFor('/')).msg ?? '', /iptables not installed/);
});

test('RHEL 6 iptables stop unloads modules: the tables are listed again so iptable_nat stays loaded', (t) => {
  const p = firewall.plan(OFF, observed(RULES, iptablesSvc(true, true), true), ctxFor('/'));
  t.deepEqual(p.changes[2], { kind: 'reload-tables', tables: ['mangle', 'raw', 'filter', 'nat'] });
  t.regex(p.msg ?? '', /IPTABLES_MODULES_UNLOAD/);
  const stopped = firewall.plan(OFF, observed(RULES, iptablesSvc(false, false), true), ctxFor('/'));
  t.false(stopped.changes.some((c) => c.kind === 'reload-tables'), 'nothing to reload when the service is not stopped now');
});

test('apply off runs exactly these argument arrays and never rmmod/modprobe -r', async (t) => {
  const exec = fakeExec();
  const ctx = ctxFor('/', { exec, facts: RHEL6 });
  const p = firewall.plan(OFF, observed(RULES, iptablesSvc(true, true), true), ctx);
  await firewall.apply(OFF, p.changes, ctx);
  t.deepEqual(
    exec.calls.map((c) => [c.file, ...c.args]),
    [
      ['service', 'iptables', 'stop'],
      ['chkconfig', 'iptables', 'off'],
      ['iptables', '-t', 'mangle', '-n', '-L'],
      ['iptables', '-t', 'raw', '-n', '-L'],
      ['iptables', '-t', 'filter', '-n', '-L'],
      ['iptables', '-t', 'nat', '-n', '-L'],
      ['iptables', '-t', 'mangle', '-F'],
      ['iptables', '-t', 'raw', '-F'],
      ['iptables', '-t', 'filter', '-F'],
      ['iptables', '-t', 'filter', '-X'],
      ['iptables', '-t', 'filter', '-P', 'FORWARD', 'ACCEPT'],
      ['iptables', '-t', 'nat', '-F'],
    ],
  );
});

test('systemd host (RHEL 9): firewalld is the service; one iptables-save per run through the cache', async (t) => {
  const exec = fakeExec({
    'iptables-save': { stdout: RULES },
    'systemctl is-enabled firewalld': { code: 0, stdout: 'enabled\n' },
    'systemctl is-active firewalld': { code: 0, stdout: 'active\n' },
  });
  const ctx = ctxFor('/', { exec, facts: RHEL9 });
  const cur = await firewall.read(OFF, ctx);
  await firewall.read(OFF, ctx);
  t.is(exec.calls.filter((c) => c.file === 'iptables-save').length, 1);
  t.is(cur.serviceName, 'firewalld');
  await runOne(firewall, OFF, ctx, { check: false, diff: false });
  t.deepEqual(
    exec.calls.filter((c) => c.file === 'systemctl' && !c.args[0].startsWith('is-')).map((c) => c.args),
    [
      ['stop', 'firewalld'],
      ['disable', 'firewalld'],
    ],
  );
  await firewall.read(OFF, ctx);
  t.is(exec.calls.filter((c) => c.file === 'iptables-save').length, 2, 'apply invalidated the cached read');
  t.deepEqual(await ctx.kernel.read('iptables'), parseIptablesSave(RULES));
  t.is(exec.calls.filter((c) => c.file === 'iptables-save').length, 2);
});

test('on: start and enable; rules are not read or touched; a missing service fails', async (t) => {
  const exec = fakeExec({
    'systemctl is-enabled firewalld': { code: 1, stdout: 'disabled\n' },
    'systemctl is-active firewalld': { code: 3, stdout: 'inactive\n' },
  });
  const ctx = ctxFor('/', { exec, facts: RHEL9 });
  const on = firewall.schema.parse({ state: 'on' });
  const r = await runOne(firewall, on, ctx, { check: false, diff: true });
  t.true(r.changed);
  t.deepEqual(
    exec.calls.map((c) => [c.file, ...c.args]).filter((a) => a[0] !== 'systemctl' || !a[1].startsWith('is-')),
    [
      ['systemctl', 'start', 'firewalld'],
      ['systemctl', 'enable', 'firewalld'],
    ],
  );
  const missing = fakeExec({ 'systemctl is-enabled firewalld': { code: 1, stderr: 'Failed to get unit file state for firewalld.service: No such file or directory\n' } });
  await t.throwsAsync(runOne(firewall, on, ctxFor('/', { exec: missing, facts: RHEL9 }), { check: true, diff: false }), {
    message: /firewall on: service firewalld not found/,
  });
});

test('schema: unknown state, unknown keys and bad service names fail with the field named', (t) => {
  const bad = (a: Record<string, unknown>, field: RegExp) => {
    const r = firewall.schema.safeParse(a);
    t.false(r.success, JSON.stringify(a));
    if (!r.success) t.regex(describeIssues(r.error), field, JSON.stringify(a));
  };
  bad({ state: 'disabled' }, /^state:/);
  bad({}, /^state:/);
  bad({ state: 'off', service: 'iptables;reboot' }, /^service:/);
  bad({ state: 'off', service: '-iptables' }, /^service:/);
  bad({ state: 'off', flushNat: false }, /flushNat/);
  t.true(firewall.schema.safeParse({ state: 'off', service: 'iptables', provider: 'systemd' }).success);
});
