import test from 'ava';
import { AgentListSchema, RunStartedSchema, RunStreamEventSchema } from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import { Client } from '../../cli/client.js';
import { FakeApi } from '../helpers/fake-api.js';

/** ctl parses every answer with its schema from common/api.ts: a wrong shape names the field. */

const agent = { name: 'server2', online: true, lastHeartbeat: null, heartbeatAgeMs: null };
const result = { index: 0, name: 'motd', module: 'file', status: 'changed', ms: 3 };
const recap = { server2: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0 } };

const api = new FakeApi({
  'GET /api/agents': { json: [agent, { ...agent, name: 'server3', online: 'yes' }] },
  'GET /api/agents?ok': { json: [agent] },
  'POST /api/runs': { status: 201, json: { id: 7, title: 'role x', hosts: [] } },
  'GET /api/runs/r1/events': { text: [{ type: 'result', host: 'server2', result }, { type: 'result', host: 'server2', result: { ...result, status: 'done' } }].map((e) => JSON.stringify(e)).join('\n') + '\n' },
  'GET /api/runs/r2/events': { text: [{ type: 'result', host: 'server2', result }, { type: 'recap', recap }].map((e) => JSON.stringify(e)).join('\n') + '\n' },
  'GET /api/text': { text: '<html>not the API</html>' },
  'GET /api/refused': { status: 400, json: { error: { code: 'CTL_ERR_USAGE', message: 'expected boolean, received string', where: { field: 'body.check' } } } },
  'GET /api/odd-error': { status: 418, json: { error: { code: 'CTL_ERR_NO_SUCH_CODE', message: 'x' } } },
});
let client: Client;

test.before(async () => {
  await api.start();
  client = new Client({ url: api.url, token: 'tok' });
});
test.after.always(() => api.stop());

async function refusal(t: import('ava').ExecutionContext, p: Promise<unknown>): Promise<CtlError> {
  const e = await t.throwsAsync(p);
  t.true(e instanceof CtlError, String(e));
  return e as CtlError;
}

test('an answer that matches the schema is returned parsed, with the token sent as a header', async (t) => {
  t.deepEqual(await client.get('/api/agents?ok', AgentListSchema), [agent]);
  t.is(api.received.find((r) => r.url === '/api/agents?ok')?.authorization, 'Bearer tok');
});

test('a response field of the wrong type is refused, naming the field', async (t) => {
  const e = await refusal(t, client.get('/api/agents', AgentListSchema));
  t.is(e.code, 'CTL_ERR_API_RESPONSE');
  t.is(e.where.field, 'response[1].online');
  t.regex(e.oneLine(), /^response\[1\]\.online: expected boolean, received string \(GET \/api\/agents: /);
  t.is(e.exitCode, 1);
});

test('a POST answer is checked too', async (t) => {
  const e = await refusal(t, client.post('/api/runs', { kind: 'role' }, RunStartedSchema));
  t.is(e.where.field, 'response.id');
  t.regex(e.message, /^expected string, received number/);
});

test('each line of an event stream is checked; the lines before a bad one are delivered', async (t) => {
  const seen: string[] = [];
  const e = await refusal(t, client.stream('/api/runs/r1/events', RunStreamEventSchema, (ev) => seen.push(ev.type)));
  t.deepEqual(seen, ['result']);
  t.is(e.where.field, 'events[1].result.status');
  t.regex(e.message, /^expected one of "ok"\|"changed"\|"failed"\|"skipped"/);

  const good: unknown[] = [];
  await client.stream('/api/runs/r2/events', RunStreamEventSchema, (ev) => good.push(ev));
  t.deepEqual(good, [{ type: 'result', host: 'server2', result }, { type: 'recap', recap }]);
});

test('an answer that is not JSON is a coded error, not a SyntaxError', async (t) => {
  const e = await refusal(t, client.get('/api/text', AgentListSchema));
  t.is(e.code, 'CTL_ERR_API_RESPONSE');
  t.regex(e.message, /not JSON: <html>/);
});

test("the controller's coded errors come back as they were; an unknown code is internal", async (t) => {
  const e = await refusal(t, client.get('/api/refused', AgentListSchema));
  t.is(e.code, 'CTL_ERR_USAGE');
  t.is(e.oneLine(), 'body.check: expected boolean, received string');
  const odd = await refusal(t, client.get('/api/odd-error', AgentListSchema));
  t.is(odd.code, 'CTL_ERR_INTERNAL');
  t.regex(odd.message, /^418 /);
});
