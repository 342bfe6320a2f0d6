import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AgentHost } from '../../agent/agent.js';
import { HealthAgent } from '../../agent/health-agent.js';
import { adjust, type Adjusted } from '../../agent/health/adjust.js';
import { healthConfig, type HealthArgs } from '../../agent/health/config.js';
import type { IpvsHealth, TaskRef } from '../../agent/health/ipvs-hook.js';
import { transitionBoundMs } from '../../agent/health/scheduler.js';
import type { CheckResult } from '../../agent/health/types.js';
import { parseSave } from '../../agent/ipvs/parse-save.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import type { ModuleContext } from '../../agent/module.js';
import ipvs from '../../agent/modules/ipvs.js';
import { runTasks } from '../../agent/runner.js';
import { silentLogger } from '../../common/log.js';
import type { RenderedTask, TaskResult } from '../../common/protocol.js';
import { describeIssues } from '../../agent/validate.js';
import { facts } from '../helpers/fake-ctx.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeIpvs } from '../helpers/fake-ipvs.js';
import { FakeAgentSocket } from '../helpers/fake-agent-socket.js';

/**
 * The ipvs module wired to the health checker: it plans against the declaration adjusted by
 * health (a fake checker for the planning rules, the real HealthAgent on a fake clock and a fake
 * kernel for the round trips), so a weight the checker set is not drift and a server deleted by
 * hand still is.
 */

const SVC = 'tcp:172.25.7.200:80';
const CHECK = { type: 'http', path: '/' };
const service = (over: object = {}) => ({
  protocol: 'tcp',
  address: '172.25.7.200',
  port: 80,
  scheduler: 'wrr',
  healthcheck: CHECK,
  realServers: [
    { address: '172.25.7.3', forwarding: 'dr', weight: 3 },
    { address: '172.25.7.4', forwarding: 'dr', weight: 1 },
  ],
  ...over,
});
const ARGS = { policy: 'purge', services: [service()], save: { path: '/etc/sysconfig/ipvsadm' } };
const SN = (w3: number | null, w4: number | null) =>
  '-A -t 172.25.7.200:80 -s wrr\n' +
  (w3 === null ? '' : `-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w ${w3}\n`) +
  (w4 === null ? '' : `-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w ${w4}\n`);

const parse = (input: unknown) => ipvs.schema.parse(input);

/** A checker whose view is set by the test: the real adjust() over given states and drained addresses. */
class FakeHealth implements IpvsHealth {
  states: Record<string, { state: 'up' | 'down'; reason?: string }> = {};
  drained = new Set<string>();
  held = false;
  configured: { source: string; task?: TaskRef }[] = [];
  preview(args: HealthArgs): Adjusted {
    return adjust(healthConfig(args), { states: this.states, quorumLost: new Set(), drained: this.drained });
  }
  holds(): boolean {
    return this.held;
  }
  configure(source: string, _args: HealthArgs, task: TaskRef | undefined): void {
    this.configured.push({ source, ...(task ? { task } : {}) });
  }
}

async function observed(args: ReturnType<typeof parse>, sn: string, health?: IpvsHealth) {
  const fake = new FakeIpvs(sn);
  const ctx: ModuleContext = { root: '/', check: true, exec: fake.exec, facts: facts(), kernel: new KernelState({ exec: fake.exec }), ...(health ? { health } : {}) };
  return ipvs.read({ ...args, save: undefined }, ctx);
}

// ---------------------------------------------------------------- schema

test('schema: the health keys are part of a service and of a real server, checked with their field named', (t) => {
  const a = parse({ services: [service({ quorum: 2, hysteresis: 1, sorry_server: '172.25.7.2:80', realServers: [{ address: '172.25.7.3', healthcheck: { type: 'tcp' } }] })] });
  t.like(a.services[0], { quorum: 2, hysteresis: 1, sorry_server: '172.25.7.2:80' });
  t.like(a.services[0].healthcheck, { type: 'http', path: '/', interval: 2, timeout: 1, fall: 2, rise: 2, on_failure: 'inhibit' });
  t.deepEqual(a.services[0].realServers[0].healthcheck, { type: 'tcp' });
  t.is(parse({ services: [service({ healthcheck: undefined })] }).services[0].quorum, 1, 'quorum defaults to 1 without a check too');

  const issues = (input: unknown) => {
    const r = ipvs.schema.safeParse(input);
    return r.success ? '(valid)' : describeIssues(r.error);
  };
  t.regex(issues({ services: [service({ sorry_server: '172.25.7.2:8080' })] }), /^services\.0\.sorry_server: port must equal the virtual port 80 with forwarding dr/);
  t.regex(issues({ services: [service({ healthcheck: { type: 'exec', argv: ['check'] } })] }), /^services\.0\.healthcheck\.argv\.0: argv\[0\] must be an absolute path/);
  t.regex(issues({ services: [service({ realServers: [{ address: '172.25.7.3', healthcheck: { timeout: 5 } }] })] }), /^services\.0\.realServers\.0\.healthcheck\.timeout: must not exceed interval/);
  t.regex(issues({ services: [service({ healthcheck: { type: 'http', bogus: 1 } })] }), /^services\.0\.healthcheck: .*bogus/);
});

// ---------------------------------------------------------------- planning against a fake checker

test('plan: a server the checker inhibited is not drift; its line in the diff says why, on both sides', async (t) => {
  const h = new FakeHealth();
  h.held = true;
  h.states[`${SVC} 172.25.7.3:80`] = { state: 'down', reason: 'HTTP 503' };
  const args = parse(ARGS);
  const cur = await observed(args, SN(0, 1), h);
  const plan = ipvs.plan({ ...args, save: undefined }, cur, {} as ModuleContext);
  t.deepEqual(plan.changes, [], 'weight 0 is what health wants');
  t.is(plan.msg, 'health: 172.25.7.3:80 down (HTTP 503)');
  const label = `# ${SVC} 172.25.7.3:80: down (HTTP 503), weight 0 (declared 3)\n`;
  t.true(plan.before.includes(label) && plan.after.includes(label), plan.after);

  // Without the checker the same kernel is drift: the declared weight 3 would be put back.
  const bare = ipvs.plan({ ...args, save: undefined }, await observed(args, SN(0, 1)), {} as ModuleContext);
  t.deepEqual(bare.changes.map((c) => c.kind), ['edit-server']);
});

test('plan: a healthy server deleted by hand is drift, restored at its declared weight; a removed one (on_failure remove) is absent', async (t) => {
  const h = new FakeHealth();
  h.held = true;
  const args = parse(ARGS);
  const plan = ipvs.plan({ ...args, save: undefined }, await observed(args, SN(3, null), h), {} as ModuleContext);
  t.deepEqual(plan.changes.map((c) => c.kind), ['add-server']);
  t.like(plan.changes[0], { server: { address: '172.25.7.4', weight: 1 } });

  const remove = parse({ ...ARGS, services: [service({ healthcheck: { ...CHECK, on_failure: 'remove' } })] });
  h.states[`${SVC} 172.25.7.4:80`] = { state: 'down', reason: 'connect refused' };
  const gone = ipvs.plan({ ...remove, save: undefined }, await observed(remove, SN(3, null), h), {} as ModuleContext);
  t.deepEqual(gone.changes, [], 'a removed server stays out');
  t.regex(gone.after, /172\.25\.7\.4:80: down \(connect refused\), out of the table \(declared weight 1\)/);
});

test('plan: a drained server stays at weight 0; a checker not yet running the declaration is a change of its own', async (t) => {
  const h = new FakeHealth();
  h.drained.add('172.25.7.4');
  const args = parse(ARGS);
  const plan = ipvs.plan({ ...args, save: undefined }, await observed(args, SN(3, 0), h), {} as ModuleContext);
  t.deepEqual(plan.changes, [{ kind: 'health', source: 'ipvs' }]);
  t.regex(plan.after, /172\.25\.7\.4:80: drained, weight 0 \(declared 1\)/);
  t.regex(plan.after, /# health checks: running this declaration/);
  t.regex(plan.before, /# health checks: not running this declaration/);
});

test('runner: apply hands the declaration to the checker under the task\'s name; check mode does not', async (t) => {
  const h = new FakeHealth();
  const fake = new FakeIpvs(SN(3, 1));
  const ctx = (check: boolean): ModuleContext => ({ root: '/', check, exec: fake.exec, facts: facts(), kernel: new KernelState({ exec: fake.exec }), health: h });
  const task: RenderedTask = { name: 'virtual service', module: 'ipvs', role: 'lvs-director-dr', args: { ...ARGS, save: undefined } };
  const modules = new Map([['ipvs', ipvs]]);
  const checked = await runTasks([task], modules, ctx(true), { check: true, diff: false }, () => {});
  t.is(checked[0].status, 'changed');
  t.deepEqual(h.configured, []);
  t.false(fake.calls.some((c) => c.args[0] === '-R'));
  const applied = await runTasks([task], modules, ctx(false), { check: false, diff: false }, () => {});
  t.is(applied[0].status, 'changed');
  t.deepEqual(h.configured, [{ source: 'lvs-director-dr/virtual service', task: { name: 'virtual service', role: 'lvs-director-dr' } }]);
  t.false(fake.calls.some((c) => c.args[0] === '-R'), 'nothing to change in the kernel');
});

test('apply: the read-back after -R is compared with the table the task planned, not a newer health view', async (t) => {
  const h = new FakeHealth();
  h.held = true;
  const fake = new FakeIpvs(SN(3, null));
  const ctx: ModuleContext = { root: '/', check: false, exec: fake.exec, facts: facts(), kernel: new KernelState({ exec: fake.exec }), health: h };
  const args = parse({ ...ARGS, save: undefined });
  const cur = await ipvs.read(args, ctx);
  const plan = ipvs.plan(args, cur, ctx);
  // server3 goes down between the plan and the read-back: the task must not fail for it.
  h.states[`${SVC} 172.25.7.3:80`] = { state: 'down', reason: 'HTTP 503' };
  await t.notThrowsAsync(ipvs.apply(args, plan.changes, ctx));
  t.deepEqual(parseSave(fake.save()).services[0].realServers.map((r) => r.weight), [3, 1]);
});

// ---------------------------------------------------------------- the real checker, fake clock and kernel

async function world(t: { teardown: (fn: () => Promise<void>) => void }, dir?: string, fake = new FakeIpvs()) {
  const stateDir = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'lvst-hw-')));
  const root = await mkdtemp(path.join(os.tmpdir(), 'lvst-hw-root-'));
  const clock = new FakeClock();
  const answers = new Map<string, CheckResult>();
  const agent = new HealthAgent({
    stateDir,
    log: silentLogger,
    clock,
    exec: fake.exec,
    runCheck: (spec) => new Promise((resolve) => clock.setTimeout(() => resolve(answers.get(spec.target.address) ?? { ok: true, detail: 'HTTP 200' }), 5)),
  });
  const socket = new FakeAgentSocket();
  const ctx = (check: boolean): ModuleContext => ({ root, check, exec: fake.exec, facts: facts({ root }), kernel: new KernelState({ exec: fake.exec }), health: agent });
  const host: AgentHost = { socket, exclusive: async (_what, fn) => fn(ctx(false)) };
  agent.attach(host);
  await agent.restore();
  agent.start();
  t.teardown(async () => {
    await agent.stop();
    await rm(root, { recursive: true, force: true });
    if (!dir) await rm(stateDir, { recursive: true, force: true });
  });
  const task: RenderedTask = { name: 'virtual service', module: 'ipvs', role: 'lvs-director', args: ARGS };
  const run = async (check = false, args: Record<string, unknown> = ARGS): Promise<TaskResult> =>
    (await runTasks([{ ...task, args }], new Map([['ipvs', ipvs]]), ctx(check), { check, diff: true }, () => {}))[0];
  const weights = () => parseSave(fake.save()).services.flatMap((s) => s.realServers.map((r) => `${r.address}=${r.weight}`));
  const saved = () => readFile(path.join(root, 'etc/sysconfig/ipvsadm'), 'utf8');
  return { agent, clock, answers, fake, socket, run, weights, saved, stateDir };
}

const BOUND = transitionBoundMs(parse(ARGS).services[0].healthcheck as never, 'down') + 1000;

test('round trip: the checker inhibits through the ipvs task (table and save file), a drift check sees no drift, a hand deletion is restored', async (t) => {
  const w = await world(t);
  t.is((await w.run()).status, 'changed');
  t.deepEqual(w.weights(), ['172.25.7.3=3', '172.25.7.4=1']);
  t.is((await w.run()).status, 'ok', 'the second run changes nothing, the checker runs the declaration');

  w.answers.set('172.25.7.3', { ok: false, reason: 'HTTP 503' });
  await w.clock.advance(BOUND);
  await w.agent.monitor.idle();
  t.deepEqual(w.weights(), ['172.25.7.3=0', '172.25.7.4=1'], 'inhibited by the checker through the ipvs task');
  t.is(await w.saved(), w.fake.save(), 'and saved for boot');

  const drift = await w.run(true);
  t.is(drift.status, 'ok', 'a drift check while inhibited: no drift');
  t.is(drift.msg, 'health: 172.25.7.3:80 down (HTTP 503)');
  t.true(drift.diff?.after.includes('172.25.7.3:80: down (HTTP 503), weight 0 (declared 3)'));

  w.fake.table.services[0].realServers.splice(1, 1); // ipvsadm -d of the healthy one, by hand
  t.is((await w.run(true)).status, 'changed', 'a deleted healthy server is drift');
  t.is((await w.run()).status, 'changed');
  t.deepEqual(w.weights(), ['172.25.7.3=0', '172.25.7.4=1'], 'restored; the inhibited one left alone');

  w.answers.delete('172.25.7.3');
  await w.clock.advance(BOUND);
  await w.agent.monitor.idle();
  t.deepEqual(w.weights(), ['172.25.7.3=3', '172.25.7.4=1'], 'back at its declared weight');
  t.is(await w.saved(), w.fake.save());
  t.deepEqual(w.agent.monitor.snapshot().services[0].realServers.map((r) => r.note), ['up', 'up']);
  t.deepEqual(w.socket.sent, [], 'nothing is sent while disconnected');
});

test('transitions: kept while the controller is unreachable, sent in order at the next connect', async (t) => {
  const w = await world(t);
  await w.run();
  w.answers.set('172.25.7.4', { ok: false, reason: 'connect refused' });
  await w.clock.advance(BOUND);
  t.deepEqual(w.socket.sent, []);
  w.socket.connected = true;
  w.agent.connected();
  t.deepEqual(
    w.socket.sent.map((s) => [s.event, (s.args[0] as { reason: string }).reason]),
    [['health:transition', 'connect refused']],
  );
  w.answers.delete('172.25.7.4');
  await w.clock.advance(BOUND);
  t.deepEqual(w.socket.sent.map((s) => (s.args[0] as { reason: string }).reason), ['connect refused', 'HTTP 200'], 'then sent as they happen');
});

test('drain from the controller: weight 0, kept by runs, undone by an undrain; snapshot answers the controller', async (t) => {
  const w = await world(t);
  await w.run();
  w.socket.receive('health:drained', ['172.25.7.4']);
  await w.agent.monitor.idle();
  t.deepEqual(w.weights(), ['172.25.7.3=3', '172.25.7.4=0']);
  t.is((await w.run()).status, 'ok', 'a run does not undo the drain');
  t.is((await w.run(true)).status, 'ok', 'nor is it drift');
  const reply = await new Promise<{ snapshot: { drained: string[] }; kernel: unknown; kernelError?: string }>((resolve) => w.socket.receive('health:snapshot', resolve));
  t.deepEqual(reply.snapshot.drained, ['172.25.7.4']);
  t.is(reply.kernel, null, 'the fake kernel has no /proc/net/ip_vs: counters missing, said why');
  t.truthy(reply.kernelError);
  w.socket.receive('health:drained', []);
  await w.agent.monitor.idle();
  t.deepEqual(w.weights(), ['172.25.7.3=3', '172.25.7.4=1']);
});

test('restart: a new agent on the same state folder puts the adjusted table back into an emptied kernel, without a controller', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvst-hw-restart-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const first = await world(t, dir);
  await first.run();
  first.answers.set('172.25.7.3', { ok: false, reason: 'timeout 1 s' });
  await first.clock.advance(BOUND);
  await first.agent.stop();

  const again = await world(t, dir, new FakeIpvs(''));
  await again.agent.monitor.idle();
  t.deepEqual(again.weights(), ['172.25.7.3=0', '172.25.7.4=1'], 'the table as health left it, server3 still down');
  t.is(again.agent.monitor.snapshot().services[0].realServers[0].reason, 'timeout 1 s');
  t.is((await again.run(true)).status, 'ok', 'and the restored declaration is the one the run holds');
});

test('a task with policy purge replaces what other tasks declared; a report task adds to it', async (t) => {
  const w = await world(t);
  const other = { policy: 'report', services: [service({ address: '172.25.7.201' })] };
  await w.run(false, other);
  t.deepEqual(w.agent.monitor.sourceIds(), ['lvs-director/virtual service']);
  const report = { ...other, services: [service({ address: '172.25.7.202' })] };
  await runTasks([{ name: 'second', module: 'ipvs', role: 'x', args: report }], new Map([['ipvs', ipvs]]), { root: '/', check: false, exec: w.fake.exec, facts: facts(), kernel: new KernelState({ exec: w.fake.exec }), health: w.agent }, { check: false, diff: false }, () => {});
  t.deepEqual(w.agent.monitor.sourceIds().sort(), ['lvs-director/virtual service', 'x/second']);
  await w.run(false, ARGS);
  t.deepEqual(w.agent.monitor.sourceIds(), ['lvs-director/virtual service']);
  t.deepEqual(w.agent.monitor.snapshot().services.map((s) => s.service), [SVC]);
});
