import test from 'ava';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import { buildController } from '../../controller/app.js';
import { planRun, type PlanEnv } from '../../controller/plan-run.js';
import { renderString, renderValue, TemplateError, TemplateSandboxError } from '../../controller/template.js';
import { facts } from '../helpers/fake-ctx.js';
import { tempDir } from '../helpers/pki.js';

/**
 * The known nunjucks escapes (mozilla/nunjucks#338, #1048, #1331, the tplmap/SSTImap payloads):
 * each would write a marker file on the controller if it ran. Every one must fail as a template
 * error and the marker must not exist.
 */
const tmp = tempDir('lvst-sandbox-');
test.after.always(() => tmp.cleanup());
const MARKER = path.join(tmp.dir, 'pwned');
const JS = `return process.getBuiltinModule('fs').writeFileSync('${MARKER}', 'pwned')`;

const SANDBOX_PAYLOADS = [
  `{{ range.constructor("${JS}")() }}`,
  `{{ cycler.constructor("${JS}")() }}`,
  `{{ joiner.constructor("${JS}")() }}`,
  `{{ "".constructor.constructor("${JS}")() }}`,
  `{{ [].constructor.constructor("${JS}")() }}`,
  `{{ constructor.constructor("${JS}")() }}`,
  `{{ x.constructor.__proto__.constructor("${JS}")() }}`,
  `{{ x.__proto__.constructor.constructor("${JS}")() }}`,
  `{{ x["constr" ~ "uctor"]["constr" ~ "uctor"]("${JS}")() }}`,
  `{{ "".sub.call }}`,
  `{{ range.apply(null, [1]) }}`,
  `{{ range.name }}`,
  `{{ "abc".split.bind }}`,
  `{% set f = range.constructor("${JS}") %}{{ f() }}`,
  `{{ [range] | join(",", "constructor") }}`,
  `{{ [x] | sort(attribute="constructor.constructor") }}`,
  `{{ x.prototype }}`,
  `{{ x.__defineGetter__("a", range) }}`,
  `{{ [1].map.constructor }}`,
];

/** Payloads stock nunjucks also fails on or leaks through, refused here as plain template errors. */
const OTHER_PAYLOADS = [
  `{{ x | valueOf }}`,
  `{{ x | constructor }}`,
  `{{ [1] | select("constructor") }}`,
  `{{ toString }}`,
  `{{ hasOwnProperty }}`,
  `{{ x.hasOwnProperty("a") }}`,
  `{% include "/etc/passwd" %}`,
  `{% import "/etc/passwd" as p %}`,
  `{% extends "/etc/passwd" %}`,
];

test('known escape payloads fail as sandbox errors and run nothing', (t) => {
  for (const p of SANDBOX_PAYLOADS) {
    const e = t.throws(() => renderString(p, { x: { a: 1 } }), { instanceOf: TemplateSandboxError }, p);
    t.regex(e?.message ?? '', /is not available in templates/, p);
  }
  t.false(existsSync(MARKER));
});

test('other probes are template errors that reveal nothing', (t) => {
  for (const p of OTHER_PAYLOADS) {
    const e = t.throws(() => renderString(p, { x: { a: 1 } }), { instanceOf: TemplateError }, p);
    t.notRegex(e?.message ?? '', /root:|\[native code\]|Context|Environment/, p);
  }
});

test('inherited properties of the variables are not variables (prototype pollution)', (t) => {
  const vars = Object.create({ polluted: 'from the prototype' }) as Record<string, unknown>;
  vars.own = 'mine';
  t.is(renderString('{{ own }}', vars), 'mine');
  t.throws(() => renderString('{{ polluted }}', vars), { instanceOf: TemplateError, message: /undefined/ });
  t.throws(() => renderString('{{ d.polluted }}', { d: vars }), { instanceOf: TemplateError });
});

test('ordinary templates still work: methods of strings and lists, filters, loops, lookups', (t) => {
  const vars = { csv: 'a,b,c', list: [3, 1, 2], d: { k: 'v', n: { m: 1 } }, hostvars: { h1: { address: '10.0.0.1' } }, groups: { all: ['h1'] }, name: 'web' };
  t.is(renderString('{{ csv.split(",") | join("-") }}', vars), 'a-b-c');
  t.is(renderString('{{ name.toUpperCase() }}', vars), 'WEB');
  t.is(renderString('{{ list.length }}/{{ list | sort | join }}', vars), '3/123');
  t.is(renderString('{{ hostvars[groups.all[0]].address }}', vars), '10.0.0.1');
  t.is(renderString('{{ d["n"].m }}', vars), 1);
  t.is(renderString('{% for k, v in d %}{{ k }}{% endfor %}', vars), 'kn');
  t.is(renderString('{% for i in list %}{{ loop.index }}{% endfor %}', vars), '123');
  t.is(renderString('{{ range(3) | join(",") }}', vars), '0,1,2');
  t.is(renderString("{{ d.missing | default('z') }}", vars), 'z');
  t.is(renderString('{{ [{"a": 2}, {"a": 1}] | sort(attribute="a") | join(",", "a") }}', vars), '1,2');
  t.deepEqual(renderValue({ x: '{{ d.n }}' }, vars), { x: { m: 1 } });
});

/** A tiny project: one role with a default, a task, and an inventory. */
function project(name: string, { defaults = {}, hostVars = {}, content = '{{ probe }}' }: { defaults?: object; hostVars?: object; content?: string }): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(path.join(dir, 'roles/probe'), { recursive: true });
  writeFileSync(path.join(dir, 'roles/probe/defaults.yml'), `probe: ok\n${Object.entries(defaults).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join('')}`);
  writeFileSync(path.join(dir, 'roles/probe/tasks.yml'), `- name: probe file\n  file:\n    path: /tmp/probe\n    content: ${JSON.stringify(content)}\n`);
  writeFileSync(path.join(dir, 'inventory.yml'), `all:\n  hosts:\n    h1: ${JSON.stringify({ ansible_host: '10.0.0.1', ...hostVars })}\n`);
  return dir;
}

function env(projectDir: string): PlanEnv {
  return { projectDir, online: () => true, facts: () => facts(), ledger: () => [] };
}

const PAYLOAD = `{{ range.constructor("${JS}")() }}`;

async function refusal(projectDir: string, extraVars?: Record<string, unknown>): Promise<CtlError> {
  const e = await (async () => {
    try {
      await planRun({ kind: 'role', role: 'probe', hosts: 'all', inventory: 'inventory.yml', ...(extraVars ? { extraVars } : {}) }, env(projectDir));
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  if (!(e instanceof CtlError)) throw new Error(`expected a CtlError, got ${String(e)}`);
  return e;
}

test('a payload in -e, an inventory variable, a role default or a task refuses the plan, naming where it is', async (t) => {
  const fromE = await refusal(project('p-e', {}), { p: `/${PAYLOAD}` });
  t.is(fromE.code, 'CTL_ERR_TEMPLATE');
  t.is(fromE.oneLine(), "-e p: variable 'p': 'constructor' is not available in templates (they reach data only)");

  const dir = project('p-inv', { hostVars: { evil: PAYLOAD } });
  const fromInv = await refusal(dir);
  t.is(fromInv.code, 'CTL_ERR_TEMPLATE');
  t.like(fromInv.where, { file: path.join(dir, 'inventory.yml'), line: 3, field: 'evil' });

  const dir2 = project('p-def', { defaults: { evil: PAYLOAD } });
  const fromDefault = await refusal(dir2);
  t.like(fromDefault.where, { file: path.join(dir2, 'roles/probe/defaults.yml'), line: 2, field: 'evil' });

  const dir3 = project('p-task', { content: `x${PAYLOAD}` });
  const fromTask = await refusal(dir3);
  // The line of the field itself (tasks.yml line 4: content), not the task's first line.
  t.like(fromTask.where, { file: path.join(dir3, 'roles/probe/tasks.yml'), line: 4, field: 'file.content' });
  t.regex(fromTask.message, /constructor/);

  // A role name rendered from a variable is a template too.
  const dir4 = project('p-role', {});
  writeFileSync(path.join(dir4, 'site.yml'), `- hosts: all\n  roles: [${JSON.stringify(`probe{{ range.constructor("${JS}")() }}`)}]\n`);
  await t.throwsAsync(planRun({ kind: 'playbook', playbook: 'site.yml', inventory: 'inventory.yml' }, env(dir4)), { instanceOf: CtlError, message: /constructor/ });
  t.false(existsSync(MARKER), 'nothing ran');
});

test('through the API: a payload in extraVars is a 400 template error and no run is started', async (t) => {
  const dir = project('p-api', {});
  const data = path.join(tmp.dir, 'api-data');
  const ctl = await buildController({ dataDir: data, token: 't0ken', projectDir: dir });
  t.teardown(() => ctl.close());
  // Facts make the host plannable, as if its agent had reported; its tasks are then rendered.
  ctl.store.upsertAgent('h1', { facts: facts() });
  const auth = { authorization: 'Bearer t0ken' };
  for (const url of ['/api/runs', '/api/lint']) {
    const res = await ctl.app.inject({ method: 'POST', url, headers: auth, payload: { kind: 'role', role: 'probe', hosts: 'all', inventory: 'inventory.yml', extraVars: { p: PAYLOAD } } });
    t.is(res.statusCode, 400, url);
    t.is(res.json().error.code, 'CTL_ERR_TEMPLATE');
  }
  t.deepEqual((await ctl.app.inject({ url: '/api/runs', headers: auth })).json(), []);
  t.false(existsSync(MARKER));
});
