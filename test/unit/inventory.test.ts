import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CtlError } from '../../common/errors.js';
import { hostVars, loadInventory, parseIni, parseYamlInventory } from '../../controller/inventory/index.js';
import type { Inventory } from '../../controller/inventory/index.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/inventory/', import.meta.url));

/** Lines joined, so a test reads line numbers off the array index + 1. */
const text = (...lines: string[]): string => lines.join('\n') + '\n';
const ini = (...lines: string[]): Inventory => parseIni(text(...lines), 'hosts.ini');
const yml = (...lines: string[]): Inventory => parseYamlInventory(text(...lines), 'hosts.yml');

const host = (inv: Inventory, name: string) => {
  const h = inv.hosts.get(name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
};
const group = (inv: Inventory, name: string) => {
  const g = inv.groups.get(name);
  if (!g) throw new Error(`no group ${name}`);
  return g;
};

function parseFails(
  t: ExecutionContext,
  fn: () => unknown,
  where: { file: string; line: number; field: string },
  message: RegExp,
): void {
  const e = t.throws(fn, { instanceOf: CtlError }) as CtlError;
  t.is(e.code, 'CTL_ERR_INVENTORY_PARSE');
  t.deepEqual(e.where, where);
  t.regex(e.message, message);
  t.true(e.oneLine().startsWith(`${where.file}:${where.line}: ${where.field}: `), e.oneLine());
  t.false(e.oneLine().includes('\n'));
}

// ---------------------------------------------------------------- INI

test('ini: hosts before any section are ungrouped; all holds every host and every top-level group', (t) => {
  const inv = ini('lonely', '[web]', 'web1', 'web2', '[db:hosts]', 'db1');
  t.deepEqual([...inv.hosts.keys()], ['lonely', 'web1', 'web2', 'db1']);
  t.deepEqual(group(inv, 'web').hosts, ['web1', 'web2']);
  t.deepEqual(group(inv, 'db').hosts, ['db1']);
  t.deepEqual(group(inv, 'ungrouped').hosts, ['lonely']);
  t.deepEqual(group(inv, 'all').hosts, ['lonely', 'web1', 'web2', 'db1']);
  t.deepEqual(group(inv, 'all').children, ['ungrouped', 'web', 'db']);
  t.deepEqual(host(inv, 'lonely').groups, ['all', 'ungrouped']);
  t.deepEqual(host(inv, 'web1').groups, ['all', 'web']);
  t.is(group(inv, 'web').line, 2);
  t.is(host(inv, 'web2').line, 4);
});

test('ini: children may be named before the child group is declared, and nest', (t) => {
  const inv = ini('[dc:children]', 'lvs', '[lvs:children]', 'directors', 'realservers', '[directors]', 'server2', '[realservers]', 'server3');
  t.deepEqual(group(inv, 'dc').children, ['lvs']);
  t.deepEqual(group(inv, 'lvs').children, ['directors', 'realservers']);
  t.deepEqual(group(inv, 'all').children, ['ungrouped', 'dc']);
  t.deepEqual(host(inv, 'server3').groups, ['all', 'dc', 'lvs', 'realservers']);
  t.deepEqual(hostVars(inv, 'server2')['groups'], {
    all: ['server2', 'server3'],
    ungrouped: [],
    dc: ['server2', 'server3'],
    lvs: ['server2', 'server3'],
    directors: ['server2'],
    realservers: ['server3'],
  });
});

test('ini: a host in several groups is one host whose later vars win', (t) => {
  const inv = ini('[a]', 'h1 x=1 y=1', '[b]', 'h1 y=2', 'h2');
  t.is(inv.hosts.size, 2);
  t.deepEqual(host(inv, 'h1').vars, { x: 1, y: 2 });
  t.deepEqual(host(inv, 'h1').groups, ['all', 'a', 'b']);
  t.is(host(inv, 'h1').line, 2);
  t.deepEqual(group(inv, 'ungrouped').hosts, []);
});

test('ini: an ungrouped host listed in a group later is no longer ungrouped', (t) => {
  const inv = ini('h1', 'h2', '[web]', 'h1');
  t.deepEqual(group(inv, 'ungrouped').hosts, ['h2']);
  t.deepEqual(host(inv, 'h1').groups, ['all', 'web']);
});

test('ini: host ranges keep leading zeros, take letters and steps, and combine', (t) => {
  const inv = ini('[web]', 'www[01:03].example.com', '[db]', 'db-[a:c]', '[odd]', 'n[1:7:3]', '[grid]', 'r[1:2]-[x:y]');
  t.deepEqual(group(inv, 'web').hosts, ['www01.example.com', 'www02.example.com', 'www03.example.com']);
  t.deepEqual(group(inv, 'db').hosts, ['db-a', 'db-b', 'db-c']);
  t.deepEqual(group(inv, 'odd').hosts, ['n1', 'n4', 'n7']);
  t.deepEqual(group(inv, 'grid').hosts, ['r1-x', 'r1-y', 'r2-x', 'r2-y']);
  t.is(host(inv, 'db-b').line, 4);
});

test('ini: every host of a range line gets its own copy of the vars', (t) => {
  const inv = ini('[web]', 'web[1:2] ports="[80, 443]"');
  (host(inv, 'web1').vars['ports'] as number[]).push(8080);
  t.deepEqual(host(inv, 'web2').vars['ports'], [80, 443]);
});

test('ini: host:port sets ansible_port, also on a range', (t) => {
  const inv = ini('[web]', 'web[1:2]:2222 ansible_host=10.0.0.1', 'plain');
  t.deepEqual(host(inv, 'web1').vars, { ansible_port: 2222, ansible_host: '10.0.0.1' });
  t.deepEqual(host(inv, 'web2').vars, { ansible_port: 2222, ansible_host: '10.0.0.1' });
  t.deepEqual(host(inv, 'plain').vars, {});
});

test('ini: # and ; comment lines, trailing # comments on host and section lines', (t) => {
  const inv = ini(
    '# a comment',
    '; another comment',
    '   # indented comment',
    '[web]   # the web tier',
    'web1 port=80 # trailing comment with key=value',
    ';web2',
    '#web3',
    'web4 pw=abc#def',
  );
  t.deepEqual([...inv.hosts.keys()], ['web1', 'web4']);
  t.deepEqual(host(inv, 'web1').vars, { port: 80 });
  // shlex ends a word at '#', as Ansible does: quote a value that holds one.
  t.deepEqual(host(inv, 'web4').vars, { pw: 'abc' });
});

test('ini: host-line values are Python literals after shell-style unquoting', (t) => {
  const inv = ini(
    '[h]',
    `h1 ansible_port=22 n=-5 f=1.5 t=True no=False nil=None ip=172.25.7.2 mode=dr lower=true`,
    `h2 s="'22'" spaced="a b" list="[1, 'x']" dict="{'k': [True]}" tuple=80,443 zero=0022 esc="'a\\\\tb'"`,
  );
  t.deepEqual(host(inv, 'h1').vars, {
    ansible_port: 22, n: -5, f: 1.5, t: true, no: false, nil: null, ip: '172.25.7.2', mode: 'dr', lower: 'true',
  });
  t.deepEqual(host(inv, 'h2').vars, {
    s: '22', spaced: 'a b', list: [1, 'x'], dict: { k: [true] }, tuple: [80, 443], zero: '0022', esc: 'a\tb',
  });
});

test('ini: [g:vars] values are read like ansible-core does (literals), one per line, spaces trimmed', (t) => {
  const inv = ini(
    '[lvs]',
    'server2',
    '[lvs:vars]',
    'vip=172.25.7.200',
    'lvs_mode = dr',
    'port=80',
    'persistent=False',
    'quoted="80"',
    'sentence = hello world',
    'empty=',
  );
  t.deepEqual(group(inv, 'lvs').vars, {
    vip: '172.25.7.200',
    lvs_mode: 'dr',
    port: 80,
    persistent: false,
    quoted: '80',
    sentence: 'hello world',
    empty: '',
  });
});

test('ini: [all:vars] and [ungrouped:vars] need no declaration', (t) => {
  const inv = ini('h1', '[all:vars]', 'ntp=10.0.0.1', '[ungrouped:vars]', 'u=1');
  t.deepEqual(group(inv, 'all').vars, { ntp: '10.0.0.1' });
  t.is(hostVars(inv, 'h1')['u'], 1);
});

test('address: ansible_host wins over address, which wins over the name', (t) => {
  const inv = ini('[h]', 'a ansible_host=10.0.0.1 address=10.0.0.9', 'b address=10.0.0.2', 'c');
  t.is(host(inv, 'a').address, '10.0.0.1');
  t.is(host(inv, 'b').address, '10.0.0.2');
  t.is(host(inv, 'c').address, 'c');
  const y = yml('all:', '  hosts:', '    a: {address: 10.0.0.3}', '    b: {ansible_host: 10.0.0.4}');
  t.is(host(y, 'a').address, '10.0.0.3');
  t.is(host(y, 'b').address, '10.0.0.4');
});

// ---------------------------------------------------------------- YAML

test('yaml: hosts, nested children, vars; hosts under all are ungrouped', (t) => {
  const inv = yml(
    'all:',
    '  hosts:',
    '    lonely:',
    '  vars:',
    '    ntp: 10.0.0.1',
    '  children:',
    '    lvs:',
    '      vars: {vip: 172.25.7.200}',
    '      children:',
    '        directors:',
    '          hosts:',
    '            server2: {ansible_host: 172.25.7.2}',
    '        realservers:',
    '          hosts:',
    '            server3:',
    '              weight: 1',
  );
  t.deepEqual([...inv.hosts.keys()], ['lonely', 'server2', 'server3']);
  t.deepEqual(group(inv, 'ungrouped').hosts, ['lonely']);
  t.deepEqual(group(inv, 'all').vars, { ntp: '10.0.0.1' });
  t.deepEqual(group(inv, 'all').children, ['ungrouped', 'lvs']);
  t.deepEqual(group(inv, 'lvs').children, ['directors', 'realservers']);
  t.deepEqual(group(inv, 'lvs').vars, { vip: '172.25.7.200' });
  t.deepEqual(host(inv, 'server3').vars, { weight: 1 });
  t.deepEqual(host(inv, 'server3').groups, ['all', 'lvs', 'realservers']);
  t.is(host(inv, 'server3').line, 15);
  t.is(group(inv, 'realservers').line, 13);
});

test('yaml: top-level groups besides all, ranges and ports in host keys, string shorthand', (t) => {
  const inv = yml(
    'web:',
    '  hosts:',
    "    'www[01:02]:8022':",
    '      tls: yes',
    'db:',
    '  hosts: db1',
    'lvs:',
    '  children: web',
  );
  t.deepEqual(group(inv, 'web').hosts, ['www01', 'www02']);
  t.deepEqual(host(inv, 'www02').vars, { tls: true, ansible_port: 8022 });
  t.deepEqual(group(inv, 'db').hosts, ['db1']);
  t.deepEqual(group(inv, 'lvs').children, ['web']);
  t.deepEqual(group(inv, 'all').children, ['ungrouped', 'db', 'lvs']);
});

test('yaml: values are typed as PyYAML (YAML 1.1) types them, as Ansible reads them', (t) => {
  const inv = yml(
    'all:',
    '  vars:',
    '    a: yes',
    '    b: off',
    '    c: n',
    '    d: y',
    '    e: 0644',
    '    f: "0644"',
    '    g: ~',
    '    h: 172.25.7.200',
    '    i: [80, 443]',
    '    base: &b {port: 80}',
    '    copy: *b',
  );
  t.deepEqual(group(inv, 'all').vars, {
    a: true, b: false, c: 'n', d: 'y', e: 420, f: '0644', g: null, h: '172.25.7.200', i: [80, 443],
    base: { port: 80 }, copy: { port: 80 },
  });
});

test('yaml: a group seen in two places is one group with merged hosts and vars', (t) => {
  const inv = yml(
    'all:',
    '  children:',
    '    a:',
    '      children:',
    '        shared: {hosts: {h1: }, vars: {x: 1}}',
    '    b:',
    '      children:',
    '        shared: {hosts: {h2: }, vars: {y: 2}}',
  );
  t.deepEqual(group(inv, 'shared').hosts, ['h1', 'h2']);
  t.deepEqual(group(inv, 'shared').vars, { x: 1, y: 2 });
  t.deepEqual(host(inv, 'h2').groups, ['all', 'a', 'b', 'shared']);
});

// ---------------------------------------------------------------- fixtures and loading

function shape(inv: Inventory) {
  const hosts = [...inv.hosts.values()].map(({ line: _line, ...h }) => h);
  const groups = [...inv.groups.values()]
    .map(({ line: _line, ...g }) => g)
    .sort((a, b) => a.name.localeCompare(b.name));
  return { hosts, groups };
}

test('fixtures: lvs.ini and lvs.yml give the same hosts, groups and merged vars', async (t) => {
  const a = await loadInventory(join(FIXTURES, 'lvs.ini'));
  const b = await loadInventory(join(FIXTURES, 'lvs.yml'));
  t.deepEqual(shape(a), shape(b));
  t.deepEqual([...a.hosts.keys()], ['server2', 'server3', 'server4']);
  t.deepEqual(
    [...a.hosts.values()].map((h) => h.address),
    ['172.25.7.2', '172.25.7.3', '172.25.7.4'],
  );
  t.deepEqual(group(a, 'lvs').children, ['directors', 'realservers']);
  for (const name of ['server2', 'server3', 'server4']) {
    const { inventory_file: fa, inventory_dir: _da, ...va } = hostVars(a, name);
    const { inventory_file: fb, inventory_dir: _db, ...vb } = hostVars(b, name);
    t.deepEqual(va, vb, name);
    t.not(fa, fb);
  }
  t.deepEqual(hostVars(a, 'server3'), {
    ansible_host: '172.25.7.3',
    weight: 1,
    vip: '172.25.7.200',
    lvs_mode: 'dr',
    inventory_hostname: 'server3',
    inventory_hostname_short: 'server3',
    group_names: ['lvs', 'realservers'],
    groups: {
      all: ['server2', 'server3', 'server4'],
      ungrouped: [],
      directors: ['server2'],
      realservers: ['server3', 'server4'],
      lvs: ['server2', 'server3', 'server4'],
    },
    inventory_file: join(FIXTURES, 'lvs.ini'),
    inventory_dir: FIXTURES.replace(/\/$/, ''),
  });
  t.false('weight' in hostVars(a, 'server2'));
});

test('load: a missing file is CTL_ERR_INVENTORY_NOT_FOUND naming the path', async (t) => {
  const path = join(FIXTURES, 'no-such-inventory.ini');
  const e = await t.throwsAsync(loadInventory(path), { instanceOf: CtlError });
  t.is(e.code, 'CTL_ERR_INVENTORY_NOT_FOUND');
  t.deepEqual(e.where, { file: path });
  t.true(e.message.includes(path));
  const dir = await t.throwsAsync(loadInventory(FIXTURES), { instanceOf: CtlError });
  t.is(dir.code, 'CTL_ERR_INVENTORY_NOT_FOUND');
});

test('load: the format is told by extension, and by content when the extension does not say', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'inventory-'));
  const yamlText = text('all:', '  hosts:', '    h1: {x: yes}');
  const iniText = text('[web]', 'h1 x=True');
  const cases: [string, string][] = [
    ['hosts', yamlText],
    ['hosts.cfg', yamlText],
    ['flow', text('all: {hosts: {h1: {x: yes}}}')],
    ['inventory.hosts', iniText],
    ['inventory', iniText],
    ['inv.ini', iniText],
    ['inv.yaml', yamlText],
    ['inv.json', JSON.stringify({ all: { hosts: { h1: { x: true } } } })],
  ];
  for (const [name, body] of cases) {
    await writeFile(join(dir, name), body);
    const inv = await loadInventory(join(dir, name));
    t.is(host(inv, 'h1').vars['x'], true, name);
    t.is(inv.groups.has('web'), body === iniText, name);
  }
});

// ---------------------------------------------------------------- variable precedence

test('vars: all lowest, child group over parent, host over group', (t) => {
  const inv = ini(
    '[all:vars]',
    'a=all',
    'b=all',
    'c=all',
    'd=all',
    '[lvs:children]',
    'realservers',
    '[lvs:vars]',
    'b=lvs',
    'c=lvs',
    'd=lvs',
    '[realservers]',
    'server3 d=host',
    '[realservers:vars]',
    'c=realservers',
    'd=realservers',
  );
  const v = hostVars(inv, 'server3');
  t.is(v['a'], 'all');
  t.is(v['b'], 'lvs');
  t.is(v['c'], 'realservers');
  t.is(v['d'], 'host');
});

test('vars: same-depth groups merge by name, ansible_group_priority overrides the name order', (t) => {
  const plain = ini('[b]', 'h1', '[a]', 'h1', '[a:vars]', 'x=a', '[b:vars]', 'x=b');
  t.is(hostVars(plain, 'h1')['x'], 'b');
  const prio = ini('[b]', 'h1', '[a]', 'h1', '[a:vars]', 'x=a', 'ansible_group_priority=10', '[b:vars]', 'x=b');
  t.is(hostVars(prio, 'h1')['x'], 'a');
  t.deepEqual(host(prio, 'h1').groups, ['all', 'b', 'a']);
});

test('vars: depth is the longest path from all, and a deeper group wins over a shallower one', (t) => {
  // deep is a child of top (path all > top > deep) and of mid (all > top > mid > deep): depth 3.
  // Were it 2, deep and zzz would tie and zzz would win by name.
  const inv = yml(
    'top:',
    '  vars: {x: top}',
    '  children:',
    '    mid:',
    '      vars: {x: mid}',
    '      children:',
    '        deep:',
    '          vars: {x: deep}',
    '          hosts: {h1: }',
    '    deep:',
    '    zzz:',
    '      vars: {x: zzz}',
    '      hosts: {h1: }',
  );
  t.deepEqual(host(inv, 'h1').groups, ['all', 'top', 'mid', 'zzz', 'deep']);
  t.is(hostVars(inv, 'h1')['x'], 'deep');
});

// Host vars share the inventory's group data (planning stays linear in the inventory), so they
// are frozen: a change throws instead of leaking into other hosts' vars or the inventory.
test('vars: dicts are replaced, not merged, and no change to the result leaks anywhere', (t) => {
  const inv = yml('all:', '  vars: {svc: {port: 80, proto: tcp}}', '  children:', '    web:', '      vars: {svc: {port: 443}}', '      hosts: {w1: }');
  const v = hostVars(inv, 'w1');
  t.deepEqual(v['svc'], { port: 443 });
  t.throws(() => ((v['svc'] as Record<string, unknown>)['port'] = 1), { instanceOf: TypeError });
  t.throws(() => (v['groups'] as Record<string, string[]>)['web']!.push('x'), { instanceOf: TypeError });
  t.throws(() => ((v as Record<string, unknown>)['svc'] = 1), { instanceOf: TypeError });
  t.deepEqual({ ...v, svc: 1 }['svc'], 1, 'a copy is the caller\'s to change');
  t.false(Object.isFrozen(group(inv, 'web').vars), 'the inventory itself is left as its loader built it');
  t.deepEqual(hostVars(inv, 'w1')['svc'], { port: 443 });
  t.deepEqual((hostVars(inv, 'w1')['groups'] as Record<string, string[]>)['web'], ['w1']);
  t.deepEqual(group(inv, 'web').vars, { svc: { port: 443 } });
});

test('vars: magic vars; group_names is sorted, without all, with ungrouped', (t) => {
  const inv = ini('solo.example.com', '[zeta]', 'h1', '[alpha]', 'h1', '[all:vars]', 'inventory_hostname=spoof');
  t.deepEqual(hostVars(inv, 'h1')['group_names'], ['alpha', 'zeta']);
  t.is(hostVars(inv, 'h1')['inventory_hostname'], 'h1');
  const solo = hostVars(inv, 'solo.example.com');
  t.deepEqual(solo['group_names'], ['ungrouped']);
  t.is(solo['inventory_hostname_short'], 'solo');
  t.is(solo['inventory_file'], 'hosts.ini');
});

test('vars: an unknown host is an error naming it', (t) => {
  const e = t.throws(() => hostVars(ini('h1'), 'h2'), { instanceOf: CtlError });
  t.is(e.code, 'CTL_ERR_PATTERN');
  t.regex(e.message, /host 'h2' is not in inventory hosts\.ini/);
});

// ---------------------------------------------------------------- INI errors

test('ini error: unterminated [ in a section header', (t) => {
  parseFails(t, () => ini('h1', '', '[web', 'web1'), { file: 'hosts.ini', line: 3, field: '[web' }, /unterminated '\['/);
});

test('ini error: section headers with spaces, no name, or text after them', (t) => {
  parseFails(t, () => ini('[web servers]'), { file: 'hosts.ini', line: 1, field: '[web servers]' }, /must not contain spaces/);
  parseFails(t, () => ini('[:vars]'), { file: 'hosts.ini', line: 1, field: '[:vars]' }, /no group name/);
  parseFails(t, () => ini('h', '[web] extra'), { file: 'hosts.ini', line: 2, field: '[web]' }, /unexpected text after '\[web\]'/);
});

test('ini error: unknown section suffix', (t) => {
  parseFails(t, () => ini('[web]', 'w1', '[web:foo]'), { file: 'hosts.ini', line: 3, field: '[web:foo]' }, /unknown section type 'foo' \(expected hosts, children or vars\)/);
});

test('ini error: a [g:vars] line that is not key=value, or has a bad key', (t) => {
  parseFails(t, () => ini('[web]', 'w1', '[web:vars]', 'a=1', 'just words'), { file: 'hosts.ini', line: 5, field: '[web:vars]' }, /expected key=value, got 'just words'/);
  parseFails(t, () => ini('[web]', 'w1', '[web:vars]', 'my var=1'), { file: 'hosts.ini', line: 4, field: '[web:vars]' }, /'my var' is not a valid variable name/);
  parseFails(t, () => ini('[web]', 'w1', '[web:vars]', '=1'), { file: 'hosts.ini', line: 4, field: '[web:vars]' }, /'' is not a valid variable name/);
});

test('ini error: bad host ranges', (t) => {
  parseFails(t, () => ini('[rs]', 'server[4:3]'), { file: 'hosts.ini', line: 2, field: 'server[4:3]' }, /begin after end/);
  parseFails(t, () => ini('[rs]', 'server[3:4'), { file: 'hosts.ini', line: 2, field: 'server[3:4' }, /unterminated '\['/);
  parseFails(t, () => ini('[rs]', 'www[01:5]'), { file: 'hosts.ini', line: 2, field: 'www[01:5]' }, /same width/);
  parseFails(t, () => ini('[rs]', 'db-[a:3]'), { file: 'hosts.ini', line: 2, field: 'db-[a:3]' }, /two numbers or two single letters/);
  parseFails(t, () => ini('[rs]', 'x[1]'), { file: 'hosts.ini', line: 2, field: 'x[1]' }, /\[begin:end\]/);
  parseFails(t, () => ini('[rs]', 'x[1:]'), { file: 'hosts.ini', line: 2, field: 'x[1:]' }, /has no end/);
  parseFails(t, () => ini('[rs]', 'x[1:3:0]'), { file: 'hosts.ini', line: 2, field: 'x[1:3:0]' }, /step must be a positive integer/);
});

test('ini error: unbalanced quotes in a host var', (t) => {
  parseFails(t, () => ini('[rs]', 'server3 weight=1', `server4 note="unfinished`), { file: 'hosts.ini', line: 3, field: 'server4' }, /unbalanced quotes/);
  parseFails(t, () => ini('[rs]', `server4 note='x`), { file: 'hosts.ini', line: 2, field: 'server4' }, /unbalanced quotes/);
});

test('ini error: host line words that are not key=value, and vars written as hosts', (t) => {
  parseFails(t, () => ini('[rs]', 'server3 weight 1'), { file: 'hosts.ini', line: 2, field: 'server3' }, /expected key=value after host 'server3', got 'weight'/);
  parseFails(t, () => ini('[rs]', 'server3', 'ansible_port=22'), { file: 'hosts.ini', line: 3, field: 'ansible_port=22' }, /not a host name/);
  parseFails(t, () => ini('[rs]', 'server3:ssh'), { file: 'hosts.ini', line: 2, field: 'server3:ssh' }, /port 'ssh'/);
  parseFails(t, () => ini('---'), { file: 'hosts.ini', line: 1, field: '---' }, /YAML/);
});

test('ini error: a cycle in children names the line that closes it', (t) => {
  parseFails(
    t,
    () => ini('[a:children]', 'b', '[b:children]', 'c', '[c:children]', 'a', '[c]', 'h1'),
    { file: 'hosts.ini', line: 6, field: '[c:children]' },
    /group 'a' in 'c' makes a cycle: a > b > c > a/,
  );
  parseFails(t, () => ini('[a:children]', 'a'), { file: 'hosts.ini', line: 2, field: '[a:children]' }, /cycle: a > a/);
});

test('ini error: children and vars of groups that are never defined', (t) => {
  parseFails(t, () => ini('[lvs:children]', 'directors', 'realserver', '[directors]', 's2'), { file: 'hosts.ini', line: 3, field: '[lvs:children]' }, /child group 'realserver' of 'lvs' is never defined/);
  parseFails(t, () => ini('[web]', 'w1', '[wbe:vars]', 'x=1'), { file: 'hosts.ini', line: 3, field: '[wbe:vars]' }, /group 'wbe' has vars but is never defined/);
  parseFails(t, () => ini('[lvs:children]', 'all'), { file: 'hosts.ini', line: 2, field: '[lvs:children]' }, /'all' contains every group/);
  parseFails(t, () => ini('[lvs:children]', 'a b'), { file: 'hosts.ini', line: 2, field: '[lvs:children]' }, /expected one group name, got 'a b'/);
});

test('error: ansible_group_priority that is not an integer, named where it is set', (t) => {
  parseFails(t, () => ini('[web]', 'w1', '[web:vars]', 'x=1', 'ansible_group_priority=high'), { file: 'hosts.ini', line: 5, field: '[web:vars]' }, /ansible_group_priority must be an integer, got "high"/);
  parseFails(t, () => yml('web:', '  vars:', '    ansible_group_priority: 1.5'), { file: 'hosts.yml', line: 3, field: 'web.vars.ansible_group_priority' }, /must be an integer, got 1.5/);
  t.is(hostVars(yml('web:', '  vars: {ansible_group_priority: "7"}', '  hosts: {w1: }'), 'w1')['ansible_group_priority'], '7');
});

// ---------------------------------------------------------------- YAML errors

test('yaml error: syntax errors carry the yaml position as the line', (t) => {
  parseFails(
    t,
    () => yml('all:', '  children:', '    web:', '      hosts: {w1: {x: 1}', '    db:'),
    { file: 'hosts.yml', line: 4, field: 'all.children.web.hosts' },
    /YAML syntax error: Flow map .* end with a }/,
  );
  parseFails(t, () => yml('all:', '\thosts:'), { file: 'hosts.yml', line: 2, field: 'TAB_AS_INDENT' }, /YAML syntax error: Tabs/);
  parseFails(t, () => yml('all:', '  hosts:', '    h1:', '    h1:'), { file: 'hosts.yml', line: 4, field: 'all.hosts.h1' }, /YAML syntax error: .*unique/i);
  parseFails(t, () => yml('all:', '  vars:', '    x: "open'), { file: 'hosts.yml', line: 3, field: 'all.vars.x' }, /YAML syntax error/);
});

test('yaml error: hosts given as a list', (t) => {
  parseFails(
    t,
    () => yml('all:', '  children:', '    web:', '      hosts:', '        - w1', '        - w2'),
    { file: 'hosts.yml', line: 5, field: 'all.children.web.hosts' },
    /hosts of group 'web' must be a mapping of host names to their vars, not a list/,
  );
});

test('yaml error: group vars and host vars that are not mappings', (t) => {
  parseFails(t, () => yml('all:', '  vars:', '    - x'), { file: 'hosts.yml', line: 3, field: 'all.vars' }, /vars of group 'all' must be a mapping, not a list/);
  parseFails(t, () => yml('web:', '  vars: port=80'), { file: 'hosts.yml', line: 2, field: 'web.vars' }, /not the string "port=80"/);
  parseFails(t, () => yml('all:', '  hosts:', '    server2: 172.25.7.2'), { file: 'hosts.yml', line: 3, field: 'all.hosts.server2' }, /vars of host 'server2' must be a mapping, not the string "172.25.7.2"/);
  parseFails(t, () => yml('all:', '  vars: {my-var: 1}'), { file: 'hosts.yml', line: 2, field: 'all.vars.my-var' }, /'my-var' is not a valid variable name/);
});

test('yaml error: unknown keys in a group, groups that are not mappings', (t) => {
  parseFails(t, () => yml('all:', '  children:', '    web:', '      host:', '        w1:'), { file: 'hosts.yml', line: 4, field: 'all.children.web.host' }, /unknown key 'host' in group 'web' \(expected hosts, children or vars\)/);
  parseFails(t, () => yml('all:', '  children:', '    web: [w1]'), { file: 'hosts.yml', line: 3, field: 'all.children.web' }, /group 'web' must be a mapping/);
  parseFails(t, () => yml('all:', '  children: [web]'), { file: 'hosts.yml', line: 2, field: 'all.children' }, /children of group 'all' must be a mapping, not a list/);
});

test('yaml error: cycles, bad ranges, empty files, lists and plugin configs', (t) => {
  parseFails(
    t,
    () => yml('a:', '  children:', '    b:', '      children:', '        a:'),
    { file: 'hosts.yml', line: 5, field: 'a.children.b.children' },
    /group 'a' in 'b' makes a cycle: a > b > a/,
  );
  parseFails(t, () => yml('all:', '  hosts:', '    server[4:3]:'), { file: 'hosts.yml', line: 3, field: 'all.hosts.server[4:3]' }, /begin after end/);
  parseFails(t, () => parseYamlInventory('# nothing\n', 'e.yml'), { file: 'e.yml', line: 1, field: 'all' }, /empty/);
  parseFails(t, () => yml('# hosts', '- server2'), { file: 'hosts.yml', line: 2, field: 'all' }, /top level must be a mapping/);
  parseFails(t, () => yml('plugin: aws_ec2'), { file: 'hosts.yml', line: 1, field: 'plugin' }, /plugin configuration files are not supported/);
});
