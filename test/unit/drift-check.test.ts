import test from 'ava';
import { readFileSync } from 'node:fs';
import { checkFindings } from '../../agent/watch/check.js';
import { MODULES } from '../../agent/modules/index.js';
import { desiredServices } from '../../agent/modules/ipvs.js';
import type { RenderedTask } from '../../common/protocol.js';
import { ctxFor, fakeExec } from '../helpers/fake-ctx.js';

const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/${p}`, import.meta.url), 'utf8');

/** A DR director whose 172.25.7.4 was deleted by hand (`ipvsadm -d`), on a real server's captured tables. */
function host() {
  return fakeExec({
    'ip -d -j addr show': { stdout: fixture('address/dr-realserver.json') },
    'ip -4 -j route show table all type unicast': { stdout: fixture('route/dr-realserver.json') },
    'ipvsadm -Sn': { stdout: '-A -t 172.25.7.200:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n' },
  });
}

const TASKS: RenderedTask[] = [
  { name: 'VIP on lo:0', role: 'lvs-realserver-dr', module: 'address', args: { address: '172.25.7.200/32', device: 'lo:0' } },
  { name: 'host route to the VIP', role: 'lvs-realserver-dr', module: 'route', args: { destination: '172.25.7.200', device: 'lo' } },
  { name: 'address on a device that is gone', role: 'r', module: 'address', args: { address: '10.9.9.9/24', device: 'eth9' } },
  { name: 'bad arguments', role: 'r', module: 'address', args: { address: 'nope', device: 'lo' } },
  { name: 'skipped by when', role: 'r', module: 'address', args: { address: '10.1.1.1', device: 'lo' }, skip: 'when: false' },
  {
    name: 'virtual service',
    role: 'lvs-director-dr',
    module: 'ipvs',
    args: { services: [{ address: '172.25.7.200', port: 80, scheduler: 'rr', realServers: [{ address: '172.25.7.3' }, { address: '172.25.7.4' }] }] },
  },
];

test('a check of a task list: findings of the drifted task, a finding per task that cannot be checked, nothing applied', async (t) => {
  const run = host();
  const found = await checkFindings(TASKS, MODULES, ctxFor('/nonexistent', { exec: run }));
  t.deepEqual(
    found.map((f) => [f.role, f.task, f.text]),
    [
      ['r', 'address on a device that is gone', 'cannot check: device eth9 does not exist (create it first: tunnel module, or load its driver)'],
      ['r', 'bad arguments', 'cannot check: invalid arguments: address: must be an IPv4 address with optional /prefix'],
      ['lvs-director-dr', 'virtual service', 'real server 172.25.7.4:80 missing from TCP 172.25.7.200:80'],
    ],
  );
  const cmds = run.calls.map((c) => [c.file, ...c.args].join(' '));
  t.deepEqual(cmds.filter((c) => c === 'ip -d -j addr show'), ['ip -d -j addr show'], 'one read of the table for every task of the check');
  t.false(cmds.some((c) => /^ip (addr|route|link) (add|del|replace|set)|^ipvsadm -R/.test(c)), cmds.join('\n'));
});

test('check mode is forced: a context that says apply still applies nothing', async (t) => {
  const run = host();
  await checkFindings(TASKS.slice(5), MODULES, ctxFor('/nonexistent', { exec: run, check: false }));
  t.false(run.calls.some((c) => c.file === 'ipvsadm' && c.args[0] === '-R'));
});

test('each task is checked under its own identity, as a run gives it: the health checker knows its declarations by it', async (t) => {
  const ipvsTask = TASKS[TASKS.length - 1]!;
  const asked: string[] = [];
  const health = {
    // The declared table unchanged (every real server up), so only the identity decides.
    preview: (args: Parameters<typeof desiredServices>[0]) => ({ services: desiredServices(args), notes: [] }),
    holds: (source: string) => (asked.push(source), source === 'lvs-director-dr/virtual service'),
    configure: () => {},
  };
  const sn = '-A -t 172.25.7.200:80 -s rr\n-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 1\n-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n';
  const run = fakeExec({ 'ipvsadm -Sn': { stdout: sn } });
  t.deepEqual(await checkFindings([ipvsTask], MODULES, { ...ctxFor('/nonexistent', { exec: run }), health }), [], 'the checker runs this declaration: no drift');
  t.deepEqual(asked, ['lvs-director-dr/virtual service']);
  const other = { ...ipvsTask, name: 'another declaration' };
  const found = await checkFindings([other], MODULES, { ...ctxFor('/nonexistent', { exec: run }), health });
  t.deepEqual(found.map((f) => [f.field, f.text]), [['health checks', 'the health checker does not run this declaration of the virtual services']]);
});
