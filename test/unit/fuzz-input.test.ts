import test from 'ava';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { CtlError } from '../../common/errors.js';
import { parseExtraVars } from '../../cli/extra-vars.js';
import { matchPattern, parseIni, parseInventory, parseYamlInventory, selectHosts } from '../../controller/inventory/index.js';
import { planRun } from '../../controller/plan-run.js';
import { loadRole, renderRole } from '../../controller/roles.js';
import { loadSchedules } from '../../controller/schedules.js';
import { REPO } from '../helpers/procs.js';

/**
 * Random bytes and random structured garbage into every parser of user input: only coded
 * errors (CtlError) may come out, never another exception, and every case ends within BOUND_MS.
 * Serial: a case that holds the event loop would make another test's timer fire late.
 */
// Generous: it catches what blows up (a range of a hundred million hosts ran for minutes), not a busy machine.
const BOUND_MS = 10_000;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-fuzz-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

async function onlyCoded(what: string, run: () => unknown): Promise<void> {
  const t0 = performance.now();
  try {
    await run();
  } catch (e) {
    if (!(e instanceof CtlError)) throw new Error(`${what}: uncoded ${(e as Error)?.name}: ${(e as Error)?.message}`);
    if (!e.message || /\n/.test(e.oneLine())) throw new Error(`${what}: the error is not one line: ${JSON.stringify(e.oneLine())}`);
  }
  const ms = performance.now() - t0;
  if (ms > BOUND_MS) throw new Error(`${what}: took ${Math.round(ms)} ms (bound ${BOUND_MS} ms)`);
}

async function check<T>(arb: fc.Arbitrary<T>, what: string, run: (v: T) => unknown): Promise<void> {
  try {
    await fc.assert(fc.asyncProperty(arb, (v) => onlyCoded(what, () => run(v))), {
      numRuns: RUNS,
      plugins: [fc.timeout(BOUND_MS), fc.interruptAfterTimeLimit(40_000, { failOnInterrupt: true })],
    });
  } catch (e) {
    // fast-check keeps the predicate's own error as the cause; show it with the counterexample.
    const cause = (e as Error & { cause?: Error }).cause;
    throw new Error(`${(e as Error).message}${cause ? `\nCause: ${cause.message}` : ''}`);
  }
}

const bytes = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('utf8'));
/** Text made of pieces that mean something to the parser, so it gets past the first line. */
const pieces = (words: string[]) => fc.array(fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 6 })), { maxLength: 60 }).map((a) => a.join(''));

const INI_WORDS = ['h[0:99999999]', 'x=[[[[[[[[[[[[[[[[[[[[', '[0:4:0]', '\n', '\r\n', '[', ']', '[web]', '[web:children]', '[web:vars]', '[all:vars]', ':vars', ':children', 'server2', 'h[1:3]', 'h[a:c:2]', 'h[01:', ':2222', ' ', '=', 'ansible_host=', "'", '"', '#', ';', '{', '}', '[1, 2]', "{'a': [1, {'b': (2,)}]}", 'True', 'None', '0x1f', '\\', '---', 'web', 'lvs'];
const YAML_WORDS = ['h[0:99999999]:', '{{ ', ' }}', '{% if %}', '{{ x | nofilter }}', '{{ 1/0 }}', '{% for i in %}', '\n', '  ', '    ', 'all:', 'hosts:', 'children:', 'vars:', 'web:', 'server2:', 'h[1:3]:', ' ', '- ', '{', '}', '[', ']', ',', ':', '&a ', '*a', '<<: *a', '!!str ', '!!binary ', '!tag ', '%YAML 1.1\n', '---\n', '...\n', '"', "'", '|', '>', '#', 'null', 'yes', '0o17', '~', '? '];
const PATTERN_WORDS = ['h[0:99999999]', '~(a+)+$', 'all', 'web', 'server2', 'server[3:4]', '[', ']', ':', ',', '!', '&', '~', '*', '?', '[!2]', '(', ')', '\\', '^', '$', '+', '{2}', '|', '.', '-', '[0]', '[-1]', '[1:]', 'z-a'];

/** Nesting deeper than any file should be: parsers must refuse it, not overflow the stack. */
const deep = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom(['[', ']'], ['{a: ', '}'], ['- ', ''], ["{'a': [", ']}'], ['{{ (', ') }}'])).map(([n, [open, close]]) => `x=${open.repeat(n)}1${close.repeat(n)}`);

/** JSON-ish values, then written as YAML: well-formed files whose shape is arbitrary. */
const shaped = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constantFrom(null, true, 0, -1, 1.5, '', 'web', 'server2', '{{ nope }}', '{{ inventory_hostname }}', 'h[1:3]', 'sysctl', 'lvs-realserver-dr', '*/5 * * * *'), fc.string({ maxLength: 8 }), fc.array(tie('value'), { maxLength: 4 }), tie('map')),
  map: fc.dictionary(fc.constantFrom('all', 'hosts', 'children', 'vars', 'name', 'hosts', 'roles', 'role', 'sysctl', 'file', 'when', 'loop', 'loop_var', 'cron', 'playbook', 'inventory', 'check', 'slot', 'base', 'web', 'server2', 'ansible_group_priority', 'x'), tie('value'), { maxKeys: 5 }),
})).value.map((v) => stringify(v));

/** Close to right: the keys each file kind knows, with values that are sometimes wrong. */
const text = fc.oneof(fc.constantFrom('web', 'all', 'server2', 'lvs-realserver-dr', 'httpd', 'nope', '{{ lvs_mode }}', '{{ nope }}', '{{ x | int }}', "{{ groups['web'] }}", 'h[1:3]', 'web:!server2', '~s.*', '*/10 * * * *', '/etc/motd', '0644', 'net.ipv4.ip_forward'), fc.string({ maxLength: 10 }));
const scalar = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null));
const loose = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(text, scalar, { maxKeys: 3 }));
const hostsMap = fc.dictionary(text, fc.oneof(fc.constant(null), fc.dictionary(fc.constantFrom('ansible_host', 'lvs_weight', 'ansible_group_priority', 'x y'), scalar, { maxKeys: 2 })), { maxKeys: 3 });
const group = fc.letrec((tie) => ({ g: fc.record({ hosts: fc.oneof(hostsMap, loose), vars: fc.oneof(fc.dictionary(text, loose, { maxKeys: 3 }), loose), children: fc.oneof(fc.dictionary(text, fc.oneof(fc.constant(null), tie('g')), { maxKeys: 2 }), loose) }, { requiredKeys: [] }) })).g;
const yamlInventory = fc.dictionary(fc.constantFrom('all', 'web', 'plugin', 'lvs'), group, { maxKeys: 2 }).map((v) => stringify(v));
const task = fc.record({ name: text, sysctl: fc.record({ name: text, value: loose }, { requiredKeys: [] }), file: fc.record({ path: text, content: text, mode: text }, { requiredKeys: [] }), when: fc.oneof(text, fc.boolean()), loop: loose, loop_var: text }, { requiredKeys: [] });
const tasksFile = fc.array(task, { maxLength: 4 }).map((v) => stringify(v));
const roleName = fc.oneof(fc.constantFrom('httpd', 'firewall-off', 'rhel-repos', 'lvs-director-dr', 'lvs-director-nat', 'lvs-realserver-tun', 'lvs-realserver-{{ lvs_mode }}'), text);
const playVars = fc.dictionary(fc.oneof(fc.constantFrom('lvs_vip', 'lvs_port', 'lvs_mode', 'lvs_scheduler', 'httpd_marker', 'lvs_weight', 'lvs_ipvs_policy'), text), loose, { maxKeys: 3 });
const play = fc.record({ name: text, hosts: fc.oneof(fc.constantFrom('all', 'lvs', 'realservers', 'directors', 'server2'), text), roles: fc.oneof(fc.array(fc.oneof(roleName, fc.record({ role: roleName })), { maxLength: 3 }), loose), vars: fc.oneof(playVars, loose) }, { requiredKeys: ['hosts', 'roles'] });
const playbook = fc.array(play, { maxLength: 3 }).map((v) => stringify(v));
const schedule = fc.array(fc.record({ name: text, cron: text, playbook: fc.oneof(fc.constantFrom('site.yml', 'nope.yml'), text), inventory: fc.oneof(fc.constantFrom('inventory/dr.yml', 'gone.ini'), loose), hosts: loose, check: loose }, { requiredKeys: [] }), { maxLength: 3 }).map((v) => stringify(v));

const inventory = parseIni('[directors]\nserver2\n[realservers]\nserver3\nserver4\n[web:children]\nrealservers\n[db]\ndb[01:03]\n', 'fuzz.ini');

test.serial('INI inventories: random bytes and INI-shaped garbage give coded errors only', async (t) => {
  await check(fc.oneof(bytes, pieces(INI_WORDS), deep.map((d) => `[web]\nh1 ${d}`)), 'parseIni', (text) => parseIni(text, 'fuzz.ini'));
  await check(pieces(INI_WORDS), 'parseInventory', (text) => parseInventory(text, 'fuzz'));
  t.pass();
});

test.serial('YAML inventories: random bytes, YAML-shaped garbage and arbitrary shapes give coded errors only', async (t) => {
  await check(fc.oneof(bytes, pieces(YAML_WORDS), shaped, yamlInventory, deep.map((d) => `all:\n  vars:\n    ${d.replace('=', ': ')}`)), 'parseYamlInventory', (text) => parseYamlInventory(text, 'fuzz.yml'));
  t.pass();
});

test.serial('host patterns: random patterns match or give coded errors only', async (t) => {
  await check(fc.oneof(fc.string({ maxLength: 30 }), pieces(PATTERN_WORDS)), 'selectHosts', (p) => {
    matchPattern(inventory, p);
    return selectHosts(inventory, p);
  });
  t.pass();
});

test.serial('role task files: random files load and render with coded errors only', async (t) => {
  let n = 0;
  await check(fc.oneof(bytes, pieces(YAML_WORDS), shaped, tasksFile, deep.map((d) => `- file: {path: /x, content: "${d.replace(/"/g, '')}"}`)), 'loadRole', async (text) => {
    const name = `r${n++}`;
    mkdirSync(path.join(dir, 'roles', name), { recursive: true });
    writeFileSync(path.join(dir, 'roles', name, 'tasks.yml'), text);
    renderRole(await loadRole(path.join(dir, 'roles'), name), { inventory_hostname: 'server2', groups: { web: ['server3'] }, hostvars: {} });
  });
  t.pass();
});

test.serial('playbooks: random playbooks plan against the real roles with coded errors only', async (t) => {
  const env = { projectDir: REPO, ledger: () => [], facts: () => undefined, online: () => true };
  let n = 0;
  await check(fc.oneof(bytes, pieces(YAML_WORDS), shaped, playbook), 'planRun', async (text) => {
    const file = path.join(dir, `playbook${n++}.yml`);
    writeFileSync(file, text);
    await planRun({ kind: 'playbook', playbook: file, inventory: 'inventory/dr.yml' }, env);
  });
  t.pass();
});

test.serial('schedules: random schedules.yml files load with coded errors only', async (t) => {
  let n = 0;
  await check(fc.oneof(bytes, pieces(YAML_WORDS), shaped, schedule), 'loadSchedules', async (text) => {
    const file = path.join(dir, `schedules${n++}.yml`);
    writeFileSync(file, text);
    await loadSchedules(file, REPO);
  });
  t.pass();
});

test.serial('-e: random key=value, mappings and @files parse with coded errors only', async (t) => {
  let n = 0;
  const atFile = fc.oneof(bytes, shaped).map((text) => {
    const file = path.join(dir, `vars${n++}.yml`);
    writeFileSync(file, text);
    return `@${file}`;
  });
  const inline = fc.oneof(fc.string({ maxLength: 40 }), pieces(['{', '}', '"a"', ':', ',', '[', ']', 'k=v', ' ', '=', "'", '"', '&a', '*a', 'x=1 y=2'])).filter((s) => !s.trim().startsWith('@'));
  await check(fc.array(fc.oneof(inline, atFile), { minLength: 1, maxLength: 3 }), 'parseExtraVars', (list) => parseExtraVars(list));
  t.pass();
});

// What the properties found, kept as plain examples.
test('found: an alias to no anchor, a range of a hundred million hosts, nesting past the stack', async (t) => {
  const f = path.join(dir, 'alias.yml');
  writeFileSync(f, '- name: a\n  cron: "* * * * *"\n  playbook: *a\n  inventory: x\n');
  await t.throwsAsync(loadSchedules(f), { instanceOf: CtlError, message: /YAML: Unresolved alias/ });
  const e = t.throws(() => parseIni('[web]\nh[0:99999999]\n', 'big.ini'), { instanceOf: CtlError });
  t.is(e.oneLine(), "big.ini:2: h[0:99999999]: range '[0:99999999]' in 'h[0:99999999]' names more than 100000 hosts; at most 100000 per name");
  t.throws(() => selectHosts(inventory, 'h[0:99999999]'), { instanceOf: CtlError, message: /more than 100000 hosts/ });
  const deepList = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
  t.is(parseIni(`[web]\nh1 x=${deepList}\n`, 'deep.ini').hosts.get('h1')!.vars['x'], deepList, 'too deep to be a literal: the raw string, as Ansible keeps it');
});
