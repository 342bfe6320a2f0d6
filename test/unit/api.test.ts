import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import {
  AgentListSchema,
  FindingHistorySchema,
  HealthResponseSchema,
  OpenFindingsSchema,
  LintResponseSchema,
  RunDetailSchema,
  RunListSchema,
  RunStartedSchema,
  RunStreamEventSchema,
  ScheduleListSchema,
} from '../../common/api.js';
import { ViewSnapshotSchema } from '../../common/view.js';
import { buildController, type Controller } from '../../controller/app.js';
import { facts } from '../helpers/fake-ctx.js';
import { REPO } from '../helpers/procs.js';

/** The API defined once (common/api.ts): what the routes refuse, and what they answer. */

let ctl: Controller;
const data = mkdtempSync(path.join(os.tmpdir(), 'lvst-api-'));
const auth = { authorization: 'Bearer t0ken' };
const good = { kind: 'role', role: 'httpd', hosts: 'realservers', inventory: 'inventory/dr.yml' };

test.before(async () => {
  const schedules = path.join(data, 'schedules.yml');
  // Once a year on 1 January: listed, never fired while the test runs.
  writeFileSync(schedules, '- name: yearly\n  cron: "0 0 1 1 *"\n  playbook: site.yml\n  inventory: inventory/dr.yml\n');
  ctl = await buildController({ dataDir: path.join(data, 'store'), token: 't0ken', projectDir: REPO, schedulesFile: schedules });
});
test.after.always(async () => {
  await ctl.close();
  rmSync(data, { recursive: true, force: true });
});

async function refused(t: import('ava').ExecutionContext, url: string, payload: unknown) {
  const before = ctl.store.data.runs.length;
  const res = await ctl.app.inject({ method: 'POST', url, headers: auth, payload: payload as object });
  t.is(res.statusCode, 400, res.body);
  t.is(ctl.store.data.runs.length, before, 'nothing was started');
  const err = res.json().error;
  t.is(err.code, 'CTL_ERR_USAGE');
  return err as { code: string; message: string; where: { field?: string }; line: string };
}

for (const url of ['/api/runs', '/api/lint']) {
  test.serial(`${url}: a field of the wrong type is refused with 400 and the field named`, async (t) => {
    const err = await refused(t, url, { ...good, check: 'yes' });
    t.is(err.where.field, 'body.check');
    t.is(err.line, 'body.check: expected boolean, received string');
    const arr = await refused(t, url, { ...good, inventory: ['a.yml', 7] });
    t.is(arr.line, 'body.inventory[1]: expected string or object, received number');
  });

  test.serial(`${url}: a missing field is refused with the field named`, async (t) => {
    const { inventory: _, ...noInventory } = good;
    const err = await refused(t, url, noInventory);
    t.is(err.where.field, 'body.inventory');
    t.is(err.line, 'body.inventory: missing (expected string or object or array)');
    const noBody = await ctl.app.inject({ method: 'POST', url, headers: auth });
    t.is(noBody.statusCode, 400);
    t.regex(noBody.json().error.line, /^body: expected object/);
  });

  test.serial(`${url}: an unknown kind or an unknown field is refused with the field named`, async (t) => {
    const kind = await refused(t, url, { ...good, kind: 'shell' });
    t.is(kind.where.field, 'body.kind');
    t.is(kind.line, 'body.kind: expected one of "role"|"playbook"');
    const extra = await refused(t, url, { ...good, chek: true });
    t.is(extra.line, 'body.chek: unknown field');
  });
}

test.serial('several problems in one request are all named, the first one as the field', async (t) => {
  const err = await refused(t, '/api/runs', { kind: 'role', inventory: 3, diff: 1 });
  t.is(err.where.field, 'body.inventory');
  t.regex(err.line, /^body\.inventory: expected string or object or array, received number; body\.diff: expected boolean, received number$/);
});

/** Parses an answer with its schema; a failure names the field, as ctl would. */
function parses<S extends z.ZodType>(t: import('ava').ExecutionContext, schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  t.true(r.success, r.success ? '' : JSON.stringify(r.error.issues));
  return r.data as z.output<S>;
}

test.serial('every answer of the real controller parses with its schema', async (t) => {
  ctl.store.upsertAgent('server3', { address: '172.25.7.3', facts: facts({ hostname: 'server3' }) });
  const get = async (url: string) => (await ctl.app.inject({ url, headers: auth })).json();

  t.deepEqual(parses(t, HealthResponseSchema, (await ctl.app.inject({ url: '/api/health' })).json()), { ok: true, store: { writable: true } });
  const agents = parses(t, AgentListSchema, await get('/api/agents'));
  t.is(agents[0]?.facts?.os.kernel, '5.14.0', 'facts pass through whole');
  t.deepEqual(parses(t, ScheduleListSchema, await get('/api/schedules')).map((s) => [s.name, s.check]), [['yearly', true]]);

  const lint = await ctl.app.inject({ method: 'POST', url: '/api/lint', headers: auth, payload: { kind: 'playbook', playbook: 'site.yml', inventory: 'inventory/dr.yml' } });
  t.deepEqual(parses(t, LintResponseSchema, lint.json()).issues, []);

  const started = await ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: good });
  t.is(started.statusCode, 201, started.body);
  const { id } = parses(t, RunStartedSchema, started.json());
  const events = (await ctl.app.inject({ url: `/api/runs/${id}/events`, headers: auth })).body.trim().split('\n');
  const types = events.map((l) => parses(t, RunStreamEventSchema, JSON.parse(l)).type);
  t.deepEqual(types, ['host', 'host', 'end', 'recap']);
  t.deepEqual(parses(t, RunListSchema, await get('/api/runs')).map((r) => r.id), [id]);
  const run = parses(t, RunDetailSchema, await get(`/api/runs/${id}`));
  t.deepEqual(Object.keys(run.recap).sort(), ['server3', 'server4']);
  t.true(run.hosts.server3.tasks > 0);
  t.is(parses(t, RunListSchema, await get('/api/runs'))[0].label, 'intentional');

  ctl.drift.ledger.report('server3', [{ role: 'lvs-realserver-dr', task: 'VIP', module: 'address', field: '172.25.7.200 on lo', before: null, after: '172.25.7.200/32', text: '172.25.7.200/32 missing on lo' }]);
  t.deepEqual(parses(t, OpenFindingsSchema, await get('/api/findings')).findings.map((f) => f.text), ['172.25.7.200/32 missing on lo']);
  ctl.drift.ledger.report('server3', []);
  t.deepEqual(parses(t, FindingHistorySchema, await get('/api/findings/history?host=server3&limit=5')).map((f) => f.host), ['server3']);
  const view = parses(t, ViewSnapshotSchema, await get('/api/view'));
  t.deepEqual(view.agents.map((a) => [a.name, a.state]), [['server3', 'offline']]);
  const bad = await ctl.app.inject({ url: '/api/findings?host=a%20b', headers: auth });
  t.is(bad.statusCode, 400);
  t.regex(bad.json().error.line, /query\.host: must be an agent name/);
});
