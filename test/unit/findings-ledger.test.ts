import test from 'ava';
import type { Finding } from '../../common/findings.js';
import { FindingsLedger, type FindingEvent, type LedgerState } from '../../controller/findings.js';
import { isCtlError } from '../../common/errors.js';

const T0 = new Date('2025-01-01T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

const missingRs: Finding = {
  role: 'lvs-director-dr',
  task: 'virtual service',
  module: 'ipvs',
  field: 'real server 172.25.7.4:80 of tcp:172.25.7.200:80',
  before: null,
  after: 'Route weight 1',
  text: 'real server 172.25.7.4:80 missing from TCP 172.25.7.200:80',
};
const arpIgnore = (have: string): Finding => ({
  role: 'lvs-realserver-dr',
  task: 'arp_ignore all',
  module: 'sysctl',
  field: 'net.ipv4.conf.all.arp_ignore',
  before: have,
  after: '1',
  text: `net.ipv4.conf.all.arp_ignore is ${have}, want 1`,
});

function memory(initial?: unknown) {
  const saves: LedgerState[] = [];
  return { saves, persistence: { load: () => initial, save: (s: LedgerState) => void saves.push(structuredClone(s)) } };
}

test('a full check opens new findings, keeps firstSeen, moves lastSeen, and resolves what is gone', (t) => {
  const ledger = new FindingsLedger();
  const events: FindingEvent[] = [];
  ledger.onEvent((e) => events.push(e));

  t.deepEqual(ledger.report('server2', [missingRs], at(0)).found.map((f) => f.text), [missingRs.text]);
  ledger.report('server2', [missingRs, arpIgnore('0')], at(5));
  const [rs] = ledger.open('server2');
  t.like(rs, { host: 'server2', firstSeen: at(0).toISOString(), lastSeen: at(5).toISOString() });
  t.is(rs.resolvedAt, undefined);
  t.deepEqual(ledger.counts(), { server2: 2 });

  const r = ledger.report('server2', [arpIgnore('0')], at(10));
  t.deepEqual(r.resolved.map((f) => [f.field, f.resolvedAt]), [[missingRs.field, at(10).toISOString()]]);
  t.deepEqual(ledger.open().map((f) => f.field), ['net.ipv4.conf.all.arp_ignore']);
  t.deepEqual(ledger.history().map((f) => [f.field, f.firstSeen, f.lastSeen]), [[missingRs.field, at(0).toISOString(), at(5).toISOString()]]);
  t.deepEqual(events.map((e) => `${e.kind} ${e.finding.field}`), [
    `found ${missingRs.field}`,
    'found net.ipv4.conf.all.arp_ignore',
    `resolved ${missingRs.field}`,
  ]);
});

test('the same field with other values is the same finding, changed; back after resolving it is new', (t) => {
  const ledger = new FindingsLedger();
  const events: FindingEvent[] = [];
  ledger.onEvent((e) => events.push(e));
  ledger.report('server3', [arpIgnore('0')], at(0));
  const r = ledger.report('server3', [arpIgnore('2')], at(5));
  t.deepEqual(r.changed.map((f) => [f.text, f.firstSeen]), [['net.ipv4.conf.all.arp_ignore is 2, want 1', at(0).toISOString()]]);
  const changed = events.find((e) => e.kind === 'changed');
  t.is(changed?.kind === 'changed' ? changed.before.before : undefined, '0');
  ledger.report('server3', [], at(10));
  ledger.report('server3', [arpIgnore('0')], at(15));
  t.is(ledger.open('server3')[0].firstSeen, at(15).toISOString());
  t.is(ledger.history({ host: 'server3' }).length, 1);
});

test('a report of one host leaves the others alone; the same task on two roles is two findings', (t) => {
  const ledger = new FindingsLedger();
  ledger.report('server3', [arpIgnore('0')], at(0));
  ledger.report('server4', [arpIgnore('0'), { ...arpIgnore('0'), role: 'other-role' }, arpIgnore('0')], at(0));
  ledger.report('server4', [], at(5));
  t.deepEqual(ledger.counts(), { server3: 1 });
  t.is(ledger.history({ host: 'server4' }).length, 2, 'duplicates within one report count once');
});

test('history is bounded, newest first, and a limit can be asked', (t) => {
  const ledger = new FindingsLedger({ historyLimit: 3 });
  for (let i = 0; i < 5; i++) {
    ledger.report('h', [{ ...arpIgnore('0'), field: `f${i}` }], at(i * 2));
    ledger.report('h', [], at(i * 2 + 1));
  }
  t.deepEqual(ledger.history().map((f) => f.field), ['f4', 'f3', 'f2']);
  t.deepEqual(ledger.history({ limit: 1 }).map((f) => f.field), ['f4']);
});

test('state survives a restart through the persistence; lastSeen alone is saved at most every lastSeenSaveMs', (t) => {
  const mem = memory();
  const ledger = new FindingsLedger({ persistence: mem.persistence, lastSeenSaveMs: 60_000 });
  ledger.report('server2', [missingRs], at(0));
  t.is(mem.saves.length, 1);
  ledger.report('server2', [missingRs], at(5));
  ledger.report('server2', [missingRs], at(30));
  t.is(mem.saves.length, 1, 'confirmations within the minute are not written');
  ledger.report('server2', [missingRs], at(61));
  t.is(mem.saves.length, 2);
  ledger.report('server2', [], at(62));
  t.is(mem.saves.length, 3, 'a resolution is written at once');

  const again = new FindingsLedger({ persistence: memory(mem.saves.at(-1)).persistence });
  t.deepEqual(again.open(), []);
  t.like(again.history()[0], { host: 'server2', field: missingRs.field, resolvedAt: at(62).toISOString(), lastSeen: at(61).toISOString() });
});

test('a corrupt saved state is a store error naming the field, not a silent reset', (t) => {
  const bad = { open: [{ ...missingRs, host: 'h', firstSeen: 'x' }], history: 'oops' };
  const err = t.throws(() => new FindingsLedger({ persistence: memory(bad).persistence }));
  t.true(isCtlError(err));
  t.is(isCtlError(err) ? err.code : undefined, 'CTL_ERR_STORE');
  t.regex(isCtlError(err) ? err.oneLine() : '', /^findings\.(open\.0\.lastSeen|history): /);
});
