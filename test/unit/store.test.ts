import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import type { RenderedTask, TaskResult } from '../../common/protocol.js';
import { Store } from '../../controller/store.js';
import type { RunRecord } from '../../controller/run-record.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'lvst-store-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = () => path.join(root, String(n++));

function withStore(text: string): string {
  const d = dir();
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'store.json'), text);
  return d;
}

const refused: [string, string, RegExp][] = [
  ['null', 'null', /: \(top level\): expected an object with a version, got null/],
  ['a list', '[]', /: \(top level\): expected an object with a version, got a list/],
  ['runs that are not a list', '{"runs":"oops"}', /: runs: expected array, received string/],
  ['a wrong shape inside a run', '{"version":2,"agents":{},"ledger":{},"runs":[{"id":"../../etc/x"}]}', /: runs\[0\]\.id: must be letters, digits, - or _/],
  ['truncated JSON', '{"version": 2, "agents": {"server2": {"name": "ser', /store\.json:1: not valid JSON, truncated or corrupt \(Unterminated string\)/],
  ['an empty file', '', /store\.json:1: not valid JSON, empty/],
  ['a future version', '{"version":3,"agents":{},"runs":[],"ledger":{}}', /: version: version 3 is newer than this controller knows \(up to 2\)/],
  ['an unknown version', '{"version":"x","agents":{},"runs":[],"ledger":{}}', /: version: unknown store version "x"/],
  ['no version', '{"agents":{},"runs":[],"ledger":{}}', /: version: missing/],
];

for (const [what, text, message] of refused) {
  test(`a store file with ${what} is refused naming file and path, and left as it was`, async (t) => {
    const d = withStore(text);
    const e = await t.throwsAsync(Store.open(d), { instanceOf: CtlError });
    t.is(e.code, 'CTL_ERR_STORE');
    t.is(e.where.file, path.join(d, 'store.json'));
    t.regex(e.oneLine(), message);
    t.regex(e.oneLine(), new RegExp(`^${path.join(d, 'store.json')}`));
    t.is(readFileSync(path.join(d, 'store.json'), 'utf8'), text, 'never reset');
  });
}

const task = (name: string): RenderedTask => ({ name, module: 'sysctl', args: { name: 'net.ipv4.ip_forward', value: 1 } });
const result = (index: number, status: TaskResult['status'] = 'changed'): TaskResult => ({ index, name: `t${index}`, module: 'sysctl', status, ms: 1 });

function newRun(id: string, hosts: string[], origin: RunRecord['origin'] = 'operator', createdAt = new Date().toISOString()): RunRecord {
  return { id, title: `run ${id}`, kind: 'role', origin, check: false, diff: false, createdAt, status: 'running', hosts: Object.fromEntries(hosts.map((h) => [h, { status: 'pending', tasks: 2, results: [] }])) };
}

async function play(store: Store, run: RunRecord): Promise<void> {
  store.beginRun(run, Object.fromEntries(Object.keys(run.hosts).map((h) => [h, [task('t0'), task('t1')]])));
  for (const h of Object.keys(run.hosts)) {
    store.updateHost(run, h, { status: 'running' });
    store.addResult(run, h, result(0));
    store.addResult(run, h, result(1, 'ok'));
    store.updateHost(run, h, { status: 'done', ms: 5 });
  }
  store.endRun(run);
  await store.flush();
}

test('task results go to the run journal, not store.json; the run reads back whole after a restart', async (t) => {
  const d = dir();
  const store = await Store.open(d);
  const run = newRun('aaaa1111', ['server2', 'server3']);
  await play(store, run);
  await store.close();
  const index = readFileSync(path.join(d, 'store.json'), 'utf8');
  t.notRegex(index, /"results"|"args"|net\.ipv4|server2/, 'the index holds neither hosts, results nor task arguments');
  const journal = readFileSync(path.join(d, 'runs/aaaa1111.ndjson'), 'utf8').trim().split('\n');
  t.is(journal.filter((l) => l.includes('"t":"start"')).length, 1);
  t.is((journal[0]!.match(/"name":"t0"/g) ?? []).length, 1, 'hosts with the same task list share one copy of it');

  const again = await Store.open(d);
  const back = (await again.run('aaaa'))!;
  t.is(back.status, 'done');
  t.truthy(back.finishedAt);
  t.deepEqual(back.hosts.server3, { status: 'done', tasks: 2, results: [result(0), result(1, 'ok')], ms: 5 });
  t.like(again.runs()[0], { hosts: 2, totals: { ok: 2, changed: 2, failed: 0, skipped: 0, unreachable: 0 } });
  await again.close();
});

test('a torn last journal line is skipped; a journal the index never got is indexed again', async (t) => {
  const d = dir();
  const store = await Store.open(d);
  const run = newRun('bbbb2222', ['server2']);
  await play(store, run);
  await store.close();
  const file = path.join(d, 'runs/bbbb2222.ndjson');
  writeFileSync(file, readFileSync(file, 'utf8') + '{"t":"result","host":"serv');
  writeFileSync(path.join(d, 'store.json'), JSON.stringify({ version: 2, agents: {}, runs: [], ledger: {} }));
  const again = await Store.open(d, { log: { error: () => undefined } });
  t.deepEqual(again.runs().map((r) => r.id), ['bbbb2222']);
  t.deepEqual((await again.run('bbbb2222'))!.hosts.server2.results, [result(0), result(1, 'ok')]);
  await again.close();
});

test('the data folder is 0700 and its files 0600', async (t) => {
  const d = dir();
  mkdirSync(d, { mode: 0o755 });
  const store = await Store.open(d);
  await play(store, newRun('cccc3333', ['server2']));
  await store.close();
  t.is(statSync(d).mode & 0o777, 0o700);
  t.is(statSync(path.join(d, 'runs')).mode & 0o777, 0o700);
  t.is(statSync(path.join(d, 'store.json')).mode & 0o777, 0o600);
  t.is(statSync(path.join(d, 'runs/cccc3333.ndjson')).mode & 0o777, 0o600);
  t.deepEqual(readdirSync(d).sort(), ['runs', 'store.json'], 'no temporary file left behind');
});

test('history keeps --keep-runs operator runs and, apart, scheduled ones; --keep-days drops old runs', async (t) => {
  const d = dir();
  const store = await Store.open(d, { keepRuns: 2, keepScheduled: 3, keepDays: 1 });
  await play(store, newRun('old00000', ['server2'], 'operator', new Date(Date.now() - 2 * 86_400_000).toISOString()));
  for (const id of ['op000001', 'op000002']) await play(store, newRun(id, ['server2']));
  for (let i = 1; i <= 5; i++) await play(store, newRun(`sc00000${i}`, ['server2'], 'schedule'));
  t.deepEqual(store.runs().map((r) => r.id), ['sc000005', 'sc000004', 'sc000003', 'op000002', 'op000001'], 'five drift checks did not push operator runs out');
  await play(store, newRun('op000003', ['server2']));
  t.deepEqual(store.runs().filter((r) => r.origin === 'operator').map((r) => r.id), ['op000003', 'op000002']);
  await store.close();
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(readdirSync(path.join(d, 'runs')).sort(), ['op000002', 'op000003', 'sc000003', 'sc000004', 'sc000005'].map((id) => `${id}.ndjson`));
});

test('a version 1 store is migrated: runs move to journals, nothing is lost', async (t) => {
  const v1 = {
    version: 1,
    agents: { server2: { name: 'server2', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.000Z' } },
    ledger: { server2: { 'lvs-realserver': [{ id: 'addr:lo:0', module: 'address', retire: { state: 'absent' } }] } },
    runs: [{ id: 'dddd4444', title: 'role x on all', kind: 'role', check: false, diff: false, createdAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', hosts: { server2: { status: 'done', tasks: [task('t0'), task('t1')], results: [result(0), result(1)], ms: 9 } } }],
  };
  const d = withStore(JSON.stringify(v1));
  const store = await Store.open(d, { keepDays: 100_000 });
  t.deepEqual(store.ledger('server2', 'lvs-realserver'), v1.ledger.server2['lvs-realserver']);
  const run = (await store.run('dddd4444'))!;
  t.deepEqual(run.hosts.server2, { status: 'done', tasks: 2, results: [result(0), result(1)], ms: 9 });
  t.is(run.origin, 'operator');
  await store.close();
  t.is(JSON.parse(readFileSync(path.join(d, 'store.json'), 'utf8')).version, 2);
  t.true(existsSync(path.join(d, 'runs/dddd4444.ndjson')));
});

test('forgetting an agent drops its record and slot ledger', async (t) => {
  const store = await Store.open(dir());
  store.upsertAgent('server9', { address: '10.0.0.9' });
  store.setLedger('server9', 'lvs-realserver', [{ id: 'x', module: 'address', retire: {} }]);
  t.deepEqual(store.forgetAgent('server9'), { agent: true, ledgerSlots: 1 });
  t.is(store.agent('server9'), undefined);
  t.deepEqual(store.ledger('server9', 'lvs-realserver'), []);
  t.deepEqual(store.forgetAgent('server9'), { agent: false, ledgerSlots: 0 });
  await store.close();
});

test('a run left running by a stopped controller can be taken up again and completed', async (t) => {
  const d = dir();
  const store = await Store.open(d);
  const run = newRun('eeee5555', ['server2']);
  store.beginRun(run, { server2: [task('t0'), task('t1')] });
  store.addResult(run, 'server2', result(0));
  await store.flush();
  // The controller stops here: no end line, the index says running.
  const again = await Store.open(d);
  t.is(again.runs()[0]!.status, 'running');
  const back = (await again.resumeRun('eeee5555'))!;
  t.deepEqual(back.hosts.server2.results, [result(0)]);
  again.addResult(back, 'server2', { ...result(1, 'ok'), recovered: true });
  again.updateHost(back, 'server2', { status: 'done' });
  again.endRun(back, 'interrupted');
  await again.close();
  const third = await Store.open(d);
  const done = (await third.run('eeee5555'))!;
  t.is(done.status, 'interrupted');
  t.deepEqual(done.hosts.server2, { status: 'done', tasks: 2, results: [result(0), { ...result(1, 'ok'), recovered: true }] });
  t.like(third.runs()[0], { status: 'interrupted', totals: { changed: 1, ok: 1 } });
  await third.close();
});
