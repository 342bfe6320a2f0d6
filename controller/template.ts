import nunjucks from 'nunjucks';
import { sandboxedEnvironment } from './template-sandbox.js';
import { missingVariable } from './template-refs.js';

/**
 * Jinja2-style templates through nunjucks. Undefined variables are errors, never empty strings,
 * and a string that is one whole `{{ expr }}` keeps the expression's type (a list stays a list,
 * a number a number), as Ansible's native templating does.
 */
const env = sandboxedEnvironment({ autoescape: false, throwOnUndefined: true });

env.addFilter('ipaddr_host', (cidr: string) => String(cidr).split('/')[0]);
env.addFilter('ipaddr_prefix', (cidr: string) => Number(String(cidr).split('/')[1] ?? 32));
env.addFilter('bool', (v: unknown) => (typeof v === 'string' ? ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()) : !!v));
env.addFilter('int', (v: unknown) => parseInt(String(v), 10));
env.addFilter('default', (v: unknown, d: unknown) => (v === undefined || v === null ? d : v));
env.addFilter('to_json', (v: unknown) => JSON.stringify(v));

/**
 * Filters that belong to what a project's roles need rather than to the engine (the LVS roles'
 * `lvs_realservers`) are registered by their own files through this.
 */
export function addFilter(name: string, filter: (...args: never[]) => unknown): void {
  env.addFilter(name, filter as (...args: unknown[]) => unknown);
}

const WHOLE = /^\{\{\s*([\s\S]+?)\s*\}\}$/;

export type Vars = Record<string, unknown>;

export class TemplateError extends Error {}

/**
 * A template that tried to reach JavaScript (a constructor, a prototype, a global). Never a
 * "not yet resolvable" variable: it refuses the run wherever it appears.
 */
export class TemplateSandboxError extends TemplateError {
  /** The variable whose value held the template, when it was a variable. */
  variable?: string;
}

function clean(msg: string): string {
  // nunjucks prefixes '(unknown path) [Line 1, Column 3]\n  Template render error: ...'
  return msg.replace(/\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/g, '').replace(/\s*Template render error:\s*/g, '').replace(/\s+/g, ' ').trim().replace(/^Error: /, '');
}

/**
 * Compiled templates by source: a role's strings are the same for every host, and compiling
 * (parse + new Function) costs far more than rendering. Bounded so odd input cannot grow it.
 */
const compiled = new Map<string, nunjucks.Template>();

function render(src: string, vars: Vars): string {
  let t = compiled.get(src);
  if (!t) {
    if (compiled.size >= 10_000) compiled.clear();
    t = new nunjucks.Template(src, env);
    compiled.set(src, t);
  }
  return t.render(vars);
}

export function renderString(s: string, vars: Vars): unknown {
  if (!s.includes('{{') && !s.includes('{%')) return s;
  // nunjucks copies the variables with for-in, which would make inherited ones look like
  // variables; a null-prototype copy of the own ones has nothing else to give.
  vars = Object.assign(Object.create(null) as Vars, vars);
  try {
    const whole = s.match(WHOLE);
    if (whole && !whole[1].includes('}}')) {
      const json = render(`{{ (${whole[1]}) | dump }}`, vars);
      return json === '' ? undefined : JSON.parse(json);
    }
    return render(s, vars);
  } catch (e) {
    const msg = clean((e as Error).message);
    const violation = /SandboxViolation: (.*)$/.exec(msg);
    if (violation) throw new TemplateSandboxError(violation[1]!);
    // nunjucks says only "attempted to output null or undefined value": name the variable.
    const missing = /null or undefined value/.test(msg) ? missingVariable(s, vars) : undefined;
    if (missing) throw new TemplateError(missing.isNull ? `variable '${missing.name}' is empty (null)` : `undefined variable '${missing.name}'`);
    throw new TemplateError(msg);
  }
}

/**
 * Ansible's `omit`: an argument rendered to this placeholder (`{{ x | default(omit) }}`) is left
 * out of the task, so the module's own default applies.
 */
export const OMIT = '__omit_place_holder__';

/** Renders every string inside a value; `path` names the failing field in errors. */
export function renderValue(v: unknown, vars: Vars, path: string[] = []): unknown {
  if (typeof v === 'string') {
    try {
      return renderString(v, vars);
    } catch (e) {
      const Kind = e instanceof TemplateSandboxError ? TemplateSandboxError : TemplateError;
      throw Object.assign(new Kind((e as Error).message), { field: path.join('.') });
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => renderValue(x, vars, [...path, String(i)]));
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .map(([k, x]) => [k, renderValue(x, vars, [...path, k])])
        .filter(([, x]) => x !== OMIT),
    );
  }
  return v;
}

/** A `when:` condition: a bare Jinja2 expression, true unless it renders falsy. */
export function evalCondition(expr: string | boolean, vars: Vars): boolean {
  if (typeof expr === 'boolean') return expr;
  const src = expr.trim().match(WHOLE)?.[1] ?? expr;
  return !!renderString(`{{ ${src} }}`, vars);
}

/**
 * Variables whose values are templates themselves (`vip_cidr: "{{ vip }}/24"`) are resolved
 * against the others, a few rounds deep, as Ansible resolves them lazily. A sandbox violation
 * is thrown at once, naming the variable.
 */
export function resolveVars(vars: Vars): Vars {
  const out: Vars = { ...vars };
  const failed = new Map<string, string>();
  for (let round = 0; round < 5; round++) {
    failed.clear();
    for (const [k, v] of Object.entries(out)) {
      if (typeof v !== 'string' || !v.includes('{{')) continue;
      try {
        out[k] = renderString(v, out);
      } catch (e) {
        if (e instanceof TemplateSandboxError) throw Object.assign(e, { variable: k });
        failed.set(k, (e as Error).message);
      }
    }
    if (!failed.size) break;
  }
  for (const [k, why] of failed) out[k] = new Unresolved(k, vars[k] as string, why);
  return out;
}

/**
 * A variable whose own template cannot be rendered (`vip_cidr: "{{ vip }}/32"` without `vip`).
 * It stays harmless until a template outputs it; then the error names it and why, instead of
 * its raw template text being pushed to a host.
 */
class Unresolved {
  constructor(
    readonly name: string,
    readonly template: string,
    readonly why: string,
  ) {}
  private fail(): never {
    throw new TemplateError(`variable '${this.name}' (${JSON.stringify(this.template)}): ${this.why}`);
  }
  toString(): string {
    return this.fail();
  }
  toJSON(): never {
    return this.fail();
  }
}
