import test from 'ava';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import address, { observe } from '../../agent/modules/address.js';
import { ipAddrTables, parseLinks } from '../../agent/kstate/ip-addr.js';
import { parseRoutes } from '../../agent/kstate/ip-route.js';
import file from '../../agent/modules/file.js';
import ipvs from '../../agent/modules/ipvs.js';
import kernelModule from '../../agent/modules/kernel_module.js';
import keyvalue from '../../agent/modules/keyvalue.js';
import route from '../../agent/modules/route.js';
import sysctl from '../../agent/modules/sysctl.js';
import tunnel, { observeTunnel } from '../../agent/modules/tunnel.js';
import { parseSave } from '../../agent/ipvs/parse-save.js';
import { findingsOf, genericDrift } from '../../agent/findings.js';
import { defineModule, type AnyModule, type ModuleContext } from '../../agent/module.js';
import { ctxFor } from '../helpers/fake-ctx.js';

const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');
const links = (p: string) => ipAddrTables(parseLinks(fixture(p)));
const ctx = ctxFor('/');
const TASK = { name: 'the task', module: 'm', role: 'lvs-realserver-dr' };

/** Plans a task on an observed state and returns what its findings say, as `text | before -> after`. */
function check(m: AnyModule, rawArgs: Record<string, unknown>, observed: unknown, c: ModuleContext = ctx) {
  const args = m.schema.parse(rawArgs);
  const plan = m.plan(args, observed, c);
  const found = findingsOf({ ...TASK, module: m.name }, m, args, observed, plan);
  return { plan, found, texts: found.map((f) => f.text), fields: found.map((f) => f.field) };
}

// ---------------------------------------------------------------- address (real captures)

const addrOn = (scene: string, a: Record<string, unknown>) => check(address, a, observe(links(`address/${scene}.json`), address.schema.parse(a).dev));

test('address: the VIP missing on lo, and lo down, are two findings with the exact field', (t) => {
  const r = addrOn('fresh', { address: '172.25.7.200/32', device: 'lo:0' });
  t.deepEqual(r.texts, ['172.25.7.200/32 missing on lo', 'lo is down, want up']);
  t.deepEqual(r.found[0], {
    role: 'lvs-realserver-dr',
    task: 'the task',
    module: 'address',
    field: '172.25.7.200 on lo',
    before: null,
    after: '172.25.7.200/32 label lo:0',
    text: '172.25.7.200/32 missing on lo',
  });
});

test('address: a wrong prefix names both; converged is no finding; absent names what is there', (t) => {
  const r = addrOn('drift', { address: '172.25.7.200/32', device: 'lo', label: 'lo:0' });
  t.deepEqual(r.texts, ['172.25.7.200 on lo is 172.25.7.200/24, want 172.25.7.200/32 label lo:0']);
  t.deepEqual(r.fields, ['172.25.7.200 on lo'], 'the same field as when it is missing');
  t.deepEqual(addrOn('dr-realserver', { address: '172.25.7.200/32', device: 'lo:0' }).found, []);
  t.deepEqual(addrOn('dr-realserver', { address: '172.25.7.200/32', device: 'lo', state: 'absent' }).texts, [
    '172.25.7.200/32 label lo:0 present on lo, want it absent',
  ]);
});

// ---------------------------------------------------------------- sysctl

test('sysctl: the runtime value and the persisted line are separate findings', (t) => {
  const r = check(sysctl, { name: 'net.ipv4.conf.all.arp_ignore', value: 1 }, { runtime: '0', persisted: null, fileText: '' });
  t.deepEqual(r.texts, ['net.ipv4.conf.all.arp_ignore is 0, want 1', 'net.ipv4.conf.all.arp_ignore not persisted in /etc/sysctl.conf, want 1']);
  t.deepEqual(r.found.map((f) => [f.field, f.before, f.after]), [
    ['net.ipv4.conf.all.arp_ignore', '0', '1'],
    ['net.ipv4.conf.all.arp_ignore in /etc/sysctl.conf', null, '1'],
  ]);
  const persisted = check(sysctl, { name: 'net.ipv4.ip_forward', value: 1 }, { runtime: '1', persisted: '0', fileText: 'net.ipv4.ip_forward = 0\n' });
  t.deepEqual(persisted.texts, ['net.ipv4.ip_forward is 0 in /etc/sysctl.conf, want 1']);
  const dupes = check(sysctl, { name: 'net.ipv4.ip_forward', value: 1 }, { runtime: '1', persisted: '1', fileText: 'net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1\n' });
  t.deepEqual(dupes.texts, ['net.ipv4.ip_forward set more than once in /etc/sysctl.conf, want one line']);
});

// ---------------------------------------------------------------- route (real captures)

const routeOn = (scene: string, a: Record<string, unknown>) => check(route, a, parseRoutes(fixture(`route/${scene}.json`)));

test('route: a missing host route, another gateway, and one that must go', (t) => {
  t.deepEqual(routeOn('fresh', { destination: '172.25.7.200', device: 'lo' }).found.map((f) => [f.field, f.before, f.after, f.text]), [
    ['route 172.25.7.200/32', null, '172.25.7.200/32 dev lo', 'route 172.25.7.200/32 dev lo missing'],
  ]);
  t.deepEqual(routeOn('director', { destination: 'default', gateway: '172.25.7.2' }).texts, [
    'route default is default via 172.25.7.1 dev eth0, want default via 172.25.7.2',
  ]);
  t.deepEqual(routeOn('dr-realserver', { destination: '172.25.7.200', device: 'lo', state: 'absent' }).texts, ['route 172.25.7.200/32 dev lo present, want it absent']);
  t.deepEqual(routeOn('dr-realserver', { destination: '172.25.7.200', device: 'lo' }).found, []);
});

// ---------------------------------------------------------------- ipvs

const DR_SN = '-A -t 172.25.7.200:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n';
const DR = {
  policy: 'purge',
  services: [{ address: '172.25.7.200', port: 80, scheduler: 'rr', realServers: [{ address: '172.25.7.3' }, { address: '172.25.7.4' }] }],
};
const ipvsOn = (sn: string, a: Record<string, unknown> = DR, saveText?: string | null) =>
  check(ipvs, a, { raw: sn, table: parseSave(sn), ...(saveText !== undefined ? { saveText } : {}) });

test('ipvs: a real server deleted by hand is "missing from TCP VIP:port"', (t) => {
  const sn = DR_SN.split('\n').filter((l) => !l.includes('172.25.7.4')).join('\n');
  const r = ipvsOn(sn);
  t.deepEqual(r.found.map((f) => [f.field, f.before, f.after, f.text]), [
    ['real server 172.25.7.4:80 of tcp:172.25.7.200:80', null, 'Route weight 1', 'real server 172.25.7.4:80 missing from TCP 172.25.7.200:80'],
  ]);
  t.deepEqual(ipvsOn(DR_SN).found, [], 'converged');
});

test('ipvs: weight, forwarding and scheduler differences are one finding per attribute, keyed without values', (t) => {
  const w0 = ipvsOn(DR_SN.replace('172.25.7.4:80 -g -w 1', '172.25.7.4:80 -g -w 0'));
  t.deepEqual(w0.texts, ['real server 172.25.7.4:80 of TCP 172.25.7.200:80 weight is 0, want 1']);
  const w5 = ipvsOn(DR_SN.replace('172.25.7.4:80 -g -w 1', '172.25.7.4:80 -m -w 5'));
  t.deepEqual(w5.texts, ['real server 172.25.7.4:80 of TCP 172.25.7.200:80 forwarding is Masq, want Route', 'real server 172.25.7.4:80 of TCP 172.25.7.200:80 weight is 5, want 1']);
  t.is(w5.fields[1], w0.fields[0], 'the weight field does not depend on the weight');
  t.deepEqual(ipvsOn(DR_SN.replace('-s rr', '-s wlc -p 300')).texts, ['TCP 172.25.7.200:80 scheduler is wlc, want rr', 'TCP 172.25.7.200:80 persistence is 300 s, want off']);
});

test('ipvs: a missing service is one finding; undeclared ones are named under purge; the save file', (t) => {
  t.deepEqual(ipvsOn('').texts, ['virtual service TCP 172.25.7.200:80 missing']);
  const foreign = DR_SN + '-A -t 172.25.7.99:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.9:80 -g -w 1\n';
  t.deepEqual(ipvsOn(foreign).texts, ['real server 172.25.7.9:80 in TCP 172.25.7.200:80 not declared', 'virtual service TCP 172.25.7.99:80 not declared (policy purge removes it)']);
  const save = { ...DR, save: { path: '/etc/sysconfig/ipvsadm' } };
  t.deepEqual(ipvsOn(DR_SN, save, DR_SN).found, []);
  t.deepEqual(ipvsOn(DR_SN, save, null).texts, ['/etc/sysconfig/ipvsadm missing']);
  t.deepEqual(ipvsOn(DR_SN, save, '# edited\n').texts, ['/etc/sysconfig/ipvsadm differs from the kernel table']);
});

// ---------------------------------------------------------------- tunnel, kernel_module, file, keyvalue

test('tunnel: missing (ipip not loaded) is one finding, not also "down"; down is its own field', (t) => {
  const tunOn = (p: string, a: Record<string, unknown>) => check(tunnel, a, observeTunnel(links(p), tunnel.schema.parse(a).name));
  t.deepEqual(tunOn('address/dr-realserver.json', {}).texts, ['tunnel tunl0 missing (ipip module not loaded)']);
  t.deepEqual(tunOn('tunnel/ipip-loaded.json', {}).found.map((f) => [f.field, f.text]), [['link tunl0', 'tunl0 is down, want up']]);
  t.deepEqual(tunOn('tunnel/tun-realserver.json', { name: 'tun1', local: '172.25.7.3', remote: '172.25.7.9' }).texts, [
    'tunnel tun1 is local 172.25.7.3 remote 172.25.7.2, want local 172.25.7.3 remote 172.25.7.9',
  ]);
});

test('kernel_module: not loaded, and its boot file missing', (t) => {
  const r = check(kernelModule, { name: 'ip_vs' }, { load: 'absent', boot: { path: '/etc/modules-load.d/ip_vs.conf', content: 'ip_vs\n', mode: '0644' }, file: { content: null, mode: null } });
  t.deepEqual(r.texts, ['kernel module ip_vs not loaded', '/etc/modules-load.d/ip_vs.conf missing']);
});

test('file: content is named by size and digest, never quoted; mode is shown', (t) => {
  const r = check(file, { path: '/etc/secret', content: 'password=hunter2\n', mode: '0600' }, { content: 'password=old\n', mode: 0o644 });
  t.deepEqual(r.texts, ['/etc/secret content differs', '/etc/secret mode is 0644, want 0600']);
  t.false(JSON.stringify(r.found).includes('hunter2'));
  t.false(JSON.stringify(r.found).includes('old'));
  t.regex(r.found[0].after!, /^17 bytes, sha256 [0-9a-f]{12}$/);
  t.deepEqual(check(file, { path: '/etc/x', state: 'absent' }, { content: 'x', mode: 0o644 }).texts, ['/etc/x present, want it absent']);
});

test('keyvalue: unset, another value, and set twice', (t) => {
  const kv = (text: string | null) => check(keyvalue, { path: '/etc/sysconfig/network', key: 'GATEWAY', value: '172.25.7.2' }, { text }).texts;
  t.deepEqual(kv(null), ['GATEWAY not set in /etc/sysconfig/network, want 172.25.7.2']);
  t.deepEqual(kv('GATEWAY=172.25.7.9\n'), ['GATEWAY is 172.25.7.9 in /etc/sysconfig/network, want 172.25.7.2']);
  t.deepEqual(kv('GATEWAY=1.1.1.1\nGATEWAY=172.25.7.2\n'), ['GATEWAY set more than once in /etc/sysconfig/network, want one line']);
  t.deepEqual(kv('GATEWAY=172.25.7.2\n'), []);
});

// ---------------------------------------------------------------- the fallback

const cell = defineModule({
  name: 'cell',
  summary: 'a module without describe',
  schema: z.object({ value: z.string() }),
  touches: [],
  read: async () => 'a\nb\n',
  plan: (args, cur: string) => ({ changes: cur.includes(args.value) ? [] : [args.value], before: cur, after: `a\n${args.value}\n` }),
  apply: async () => {},
});

test('a module without describe is described from its plan text: the lines that differ', (t) => {
  const r = check(cell, { value: 'c' }, 'a\nb\n');
  t.deepEqual(r.found.map((f) => [f.field, f.before, f.after, f.text]), [['state', 'b', 'c', 'b, want c']]);
  t.deepEqual(check(cell, { value: 'b' }, 'a\nb\n').found, []);
  t.deepEqual(genericDrift({ before: 'x\n', after: 'x\ny\n' })[0].text, 'missing: y');
  const long = genericDrift({ before: '', after: Array.from({ length: 9 }, (_, i) => `line ${i} ${'z'.repeat(300)}`).join('\n') })[0];
  t.true(long.after!.length < 1000, 'a finding stays short');
  t.regex(long.after!, /\(5 more\)$/);
});

test('every described module says something for every plan with changes', (t) => {
  const quiet = { ...sysctl, describe: () => [] } as AnyModule;
  const args = sysctl.schema.parse({ name: 'net.ipv4.ip_forward', value: 1, persist: false });
  const observed = { runtime: '0', persisted: null, fileText: null };
  const f = findingsOf({ name: 't', module: 'sysctl' }, quiet, args, observed, quiet.plan(args, observed, ctx));
  t.is(f.length, 1, 'an empty describe falls back to the plan text');
  t.is(f[0].text, 'runtime: net.ipv4.ip_forward = 0, want runtime: net.ipv4.ip_forward = 1');
  t.false('role' in f[0], 'no role key when the task has none');
});
