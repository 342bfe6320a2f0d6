import test from 'ava';
import type { DesiredSlot, DesiredState } from '../../common/desired-state.js';
import type { Finding } from '../../common/findings.js';
import type { RenderedTask } from '../../common/protocol.js';
import { CorrectiveRuns, fixableSlots } from '../../controller/corrective-runs.js';
import { ControllerEvents } from '../../controller/events.js';
import { FindingsLedger } from '../../controller/findings.js';
import type { RunSpec, RunWatcher } from '../../controller/run-manager.js';
import type { RunRecord } from '../../controller/run-record.js';
import { FakeTimers } from '../helpers/fake-timers.js';

const task = (name: string, role: string): RenderedTask => ({ name, module: 'sysctl', role, args: { name, value: 1 } });
const slot = (name: string, role: string, policy: DesiredSlot['policy']): DesiredSlot => ({ slot: name, roles: [role], policy, runId: 'r0', appliedAt: '2026-01-01T00:00:00.000Z', tasks: [task(`${role} a`, role), task(`${role} b`, role)] });
const held: DesiredState = {
  host: 'server3',
  revision: 4,
  updatedAt: '2026-01-01T00:00:00.000Z',
  slots: [slot('httpd', 'httpd', 'report'), slot('lvs-realserver', 'lvs-realserver-dr', 'fix')],
  factsOverride: { pkgManager: 'yum' },
};
const finding = (role: string, field: string): Finding => ({ role, task: `${role} a`, module: 'sysctl', field, before: '0', after: '1', text: `${field} is 0, want 1` });

function setup() {
  const timers = new FakeTimers();
  const ledger = new FindingsLedger();
  const events = new ControllerEvents();
  const started: RunSpec[] = [];
  const watchers: RunWatcher[] = [];
  let busy = false;
  const runs = {
    start: (spec: RunSpec) => {
      started.push(spec);
      return { id: `c${started.length}` } as RunRecord;
    },
    busy: () => busy,
    watch: (w: RunWatcher) => {
      watchers.push(w);
      return () => {};
    },
  };
  const corrective = new CorrectiveRuns({ runs, desired: { get: (h) => (h === 'server3' ? held : undefined) }, ledger, events, timers, minIntervalMs: 60_000, maxIntervalMs: 300_000 });
  const end = (id: string) => watchers.forEach((w) => w.ended?.({ id } as RunRecord, {} as RunSpec));
  let at = Date.parse('2026-01-01T00:00:00.000Z');
  const report = (...fs: Finding[]) => ledger.report('server3', fs, new Date((at += 1000)));
  return { timers, ledger, events, started, end, report, setBusy: (b: boolean) => (busy = b), corrective };
}

test('only findings of a role whose held policy is fix make a corrective run, of that slot\'s held tasks, labelled corrective', (t) => {
  const s = setup();
  s.report(finding('httpd', 'docroot'));
  t.is(s.started.length, 0, 'report policy: kept and shown, nothing run');
  s.report(finding('httpd', 'docroot'), finding('lvs-realserver-dr', 'net.ipv4.conf.all.arp_ignore'));
  t.is(s.started.length, 1);
  const spec = s.started[0];
  t.like(spec, { kind: 'tasks', label: 'corrective', check: false, origin: 'schedule' });
  t.regex(spec.title, /^corrective: 1 drift finding on server3$/);
  t.deepEqual(Object.keys(spec.plays[0].hosts), ['server3']);
  t.deepEqual(spec.plays[0].hosts.server3.map((x) => x.name), ['lvs-realserver-dr a', 'lvs-realserver-dr b'], 'the fix slot only, all its tasks');
  t.deepEqual(spec.plays[0].factsOverride, { server3: { pkgManager: 'yum' } });
  t.is(spec.desired, undefined, 'a corrective run does not change what is held');
});

test('one corrective run at a time; the same drift coming back waits, and the wait doubles up to the cap; other drift starts over', async (t) => {
  const s = setup();
  const arp = finding('lvs-realserver-dr', 'arp_ignore');
  s.report(arp);
  t.is(s.started.length, 1);
  s.report(arp, finding('lvs-realserver-dr', 'arp_announce'));
  t.is(s.started.length, 1, 'a corrective run is going');
  s.end('c1');
  s.report();
  // Something fights the agent: the same field drifts again at once.
  s.report(arp);
  t.is(s.started.length, 1, 'held back by the limit');
  t.is(s.events.recent().filter((e) => /fix held back until/.test(e.text)).length, 1);
  s.report(arp, finding('lvs-realserver-dr', 'x'));
  t.is(s.events.recent().filter((e) => /fix held back until/.test(e.text)).length, 1, 'told once per window');
  await s.timers.advance(60_000);
  t.is(s.started.length, 2, 'tried again when the window ended');
  t.is(s.corrective.state('server3')!.windowMs, 120_000, 'the same drift again: the wait doubled');
  s.end('c2');
  await s.timers.advance(119_000);
  t.is(s.started.length, 2);
  await s.timers.advance(1000);
  t.is(s.started.length, 3, 'still open after the doubled window: again');
  t.is(s.corrective.state('server3')!.windowMs, 240_000);
  s.end('c3');
  await s.timers.advance(240_000);
  t.is(s.corrective.state('server3')!.windowMs, 300_000, 'capped');
  s.end('c4');
  s.report();
  await s.timers.advance(300_000);
  t.is(s.started.length, 4, 'resolved: nothing more to fix');
  s.report(finding('lvs-realserver-dr', 'rp_filter'));
  t.is(s.started.length, 5, 'other drift after the window: at once');
  t.is(s.corrective.state('server3')!.windowMs, 60_000, 'and the wait starts over');
});

test('a host busy with another run waits for it (its end brings a new held state and a new report)', async (t) => {
  const s = setup();
  s.setBusy(true);
  s.report(finding('lvs-realserver-dr', 'arp_ignore'));
  t.is(s.started.length, 0);
  s.setBusy(false);
  s.report(finding('lvs-realserver-dr', 'arp_ignore'), finding('lvs-realserver-dr', 'vip'));
  t.is(s.started.length, 1);
});

test('fixableSlots matches findings to slots by role, or by slot name', (t) => {
  const open = [{ ...finding('lvs-realserver-dr', 'a'), host: 'h', firstSeen: '', lastSeen: '' }, { ...finding('httpd', 'b'), host: 'h', firstSeen: '', lastSeen: '' }];
  t.deepEqual(fixableSlots(held.slots, open).slots.map((x) => x.slot), ['lvs-realserver']);
  t.deepEqual(fixableSlots(held.slots, [{ ...open[0], role: 'lvs-realserver' }]).findings.length, 1);
  t.deepEqual(fixableSlots(held.slots, [{ ...open[0], role: undefined }]).slots, []);
});
