import test from 'ava';
import type { AnyModule } from '../../agent/module.js';
import address from '../../agent/modules/address.js';
import gateway from '../../agent/modules/gateway.js';
import route from '../../agent/modules/route.js';
import tunnel from '../../agent/modules/tunnel.js';
import { ctxFor, facts, fakeExec, tempRoot } from '../helpers/fake-ctx.js';
import { CMD, sceneAnswers } from '../helpers/old-iproute.js';

/**
 * Whole module reads through the run cache on a host whose `ip` answers JSON, and on one whose
 * `ip` refuses `-j` (old iproute2) and answers the text form of the same scene: the plans match.
 */
const RHEL6 = facts({ os: { ...facts().os, release: '6.5', major: 6 }, initSystem: 'sysv' });

const TASKS: [AnyModule, Record<string, unknown>][] = [
  [address, { address: '172.25.7.200/32', device: 'lo:0' }],
  [address, { address: '172.25.7.200', device: 'lo', state: 'absent' }],
  [address, { address: '172.25.254.100/24', device: 'eth0:0' }],
  [address, { address: '172.25.7.100/24', device: 'eth0', label: 'eth0:0' }],
  [address, { address: '172.25.7.2', device: 'eth0', state: 'absent' }],
  [address, { address: '172.25.7.3/24', device: 'eth0' }],
  [address, { address: '172.25.7.100', device: 'tunl0' }],
  [tunnel, {}],
  [tunnel, { name: 'tun1', local: '172.25.7.3', remote: '172.25.7.2' }],
  [tunnel, { state: 'absent' }],
  [tunnel, { name: 'eth0' }],
  [route, { destination: '172.25.7.200', device: 'lo:0' }],
  [route, { destination: 'default', gateway: '172.25.7.2' }],
  [route, { destination: 'default', gateway: '172.25.7.1', table: 100 }],
  [route, { destination: '10.9.0.0/16', gateway: '172.25.7.8' }],
  [route, { destination: '10.9.0.0/16', state: 'absent' }],
  [gateway, { address: '172.25.7.2' }],
  [gateway, { address: '172.25.7.9', state: 'absent' }],
];

/** Every task's plan (or the error it plans to) on one host, all tasks sharing one run cache. */
async function plans(answers: Record<string, object>, root: string, modules = TASKS) {
  const exec = fakeExec(answers);
  const ctx = ctxFor(root, { exec, facts: { ...RHEL6, root } });
  const out: unknown[] = [];
  for (const [m, raw] of modules) {
    const args = m.schema.parse(raw);
    const observed = await m.read(args, ctx);
    try {
      out.push(m.plan(args, observed, ctx));
    } catch (e) {
      out.push({ error: (e as Error).message });
    }
  }
  return { out, cmds: exec.calls.map((c) => [c.file, ...c.args].join(' ')) };
}

for (const scene of ['fresh', 'dr-realserver', 'director', 'tun-director', 'drift']) {
  test(`${scene}: plans from the text path equal plans from the JSON path`, async (t) => {
    const { root, cleanup } = tempRoot();
    t.teardown(cleanup);
    const json = await plans(sceneAnswers(scene, 'json'), root);
    const text = await plans(sceneAnswers(scene, 'text'), root);
    t.deepEqual(text.out, json.out);
    t.deepEqual(json.cmds, [CMD.addrJson, CMD.routeJson]);
    t.deepEqual(text.cmds, [CMD.addrJson, CMD.links, CMD.addrs, CMD.routeJson, CMD.routes]);
    t.true(json.out.some((p) => 'changes' in (p as object) && (p as { changes: unknown[] }).changes.length > 0), 'some task has changes');
  });
}

for (const scene of ['tun-realserver', 'ipip-loaded']) {
  test(`tunnel ${scene} (hand-written): plans from the text path equal plans from the JSON path`, async (t) => {
    const onLinks = TASKS.filter(([m]) => m === address || m === tunnel);
    const json = await plans(sceneAnswers(scene, 'json', 'tunnel'), '/', onLinks);
    const text = await plans(sceneAnswers(scene, 'text', 'tunnel'), '/', onLinks);
    t.deepEqual(text.out, json.out);
    t.deepEqual(text.cmds, [CMD.addrJson, CMD.links, CMD.addrs]);
  });
}
