import nunjucks from 'nunjucks';

/**
 * Templates reach data, never JavaScript. Stock nunjucks compiles `a.b` to a plain `a[b]` and
 * looks bare names up through the prototype chain, so `range.constructor("...")()`,
 * `"".constructor.constructor`, `x.__proto__`, a bare `constructor`, or a filter named after an
 * Object.prototype method (`x | valueOf` hands out the render context) all reach the Function
 * constructor or nunjucks' own objects: code execution on the controller. This closes that at
 * the two points every compiled template goes through (member lookup and name lookup), plus the
 * filter/test registries and the filters that read attributes by name:
 *
 * - these names are never read: constructor, __proto__, prototype, the legacy getter/setter
 *   helpers, caller, callee, arguments;
 * - nothing is read from a function (`range.apply`, `joiner.call`, ...);
 * - an object gives its own properties only (the variables are YAML, JSON and facts); only
 *   lists and strings offer their methods (`split`, `join`, `length`);
 * - bare names resolve to template variables, the render context's own keys, or our own
 *   globals; filters and tests only to those registered on the environment.
 *
 * nunjucks passes one shared `runtime` module to every compiled template, so the lookups are
 * replaced there, once, for the whole process (this project has no other nunjucks user).
 */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'caller',
  'callee',
  'arguments',
]);

/** Thrown inside a render; template.ts turns it into a TemplateSandboxError. */
export class SandboxViolation extends Error {
  override name = 'SandboxViolation';
}

interface Runtime {
  memberLookup(obj: unknown, val: unknown): unknown;
  contextOrFrameLookup(context: { ctx: Record<string, unknown>; env: { globals: Record<string, unknown> } }, frame: { lookup(name: string): unknown }, name: string): unknown;
  SafeString: new (s: string) => object;
}

const runtime = (nunjucks as unknown as { runtime: Runtime }).runtime;

function deny(what: string): never {
  throw new SandboxViolation(`${what} is not available in templates (they reach data only)`);
}

function memberName(val: unknown): string | number | undefined {
  if (typeof val === 'string' || typeof val === 'number') return val;
  if (val instanceof runtime.SafeString) return String(val);
  if (val === undefined || val === null) return undefined;
  return deny(`a member name of type ${typeof val}`);
}

function memberLookup(obj: unknown, val: unknown): unknown {
  const key = memberName(val);
  if (key !== undefined && FORBIDDEN_NAMES.has(String(key))) deny(`'${key}'`);
  if (obj === undefined || obj === null || key === undefined) return undefined;
  const name = String(key);
  if (typeof obj === 'function') deny(`'${name}' of a function`);
  if (typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof String) && !Object.hasOwn(obj, name)) return undefined;
  const target = obj as Record<string | number, unknown>;
  const v = target[key];
  if (typeof v === 'function') return (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(target, args);
  return v;
}

const contextOrFrameLookup: Runtime['contextOrFrameLookup'] = (context, frame, name) => {
  if (FORBIDDEN_NAMES.has(name)) deny(`'${name}'`);
  const val = frame.lookup(name);
  if (val !== undefined) return val;
  if (Object.hasOwn(context.ctx, name)) return context.ctx[name];
  if (Object.hasOwn(context.env.globals, name)) return context.env.globals[name];
  return undefined;
};

runtime.memberLookup = memberLookup;
runtime.contextOrFrameLookup = contextOrFrameLookup;

/** Filters that read `item[attr]` themselves, by an attribute name given in the template. */
const ATTRIBUTE_FILTERS = ['join', 'sum', 'sort', 'groupby', 'selectattr', 'rejectattr', 'dictsort'];

type Env = nunjucks.Environment & {
  filters: Record<string, (...a: unknown[]) => unknown>;
  tests: Record<string, unknown>;
  globals: Record<string, unknown>;
  getTest(name: string): unknown;
};

/**
 * An environment for rendering roles and variables: no loader (no include/import/extends of
 * files), no `cycler`/`joiner` globals, registries looked up by own name only.
 */
export function sandboxedEnvironment(opts: nunjucks.ConfigureOptions): nunjucks.Environment {
  const env = new nunjucks.Environment(null, opts) as Env;
  delete env.globals.cycler;
  delete env.globals.joiner;
  env.getFilter = function (this: Env, name: string) {
    if (!Object.hasOwn(this.filters, name)) throw new Error(`filter not found: ${name}`);
    return this.filters[name]!;
  } as Env['getFilter'];
  env.getTest = function (this: Env, name: string) {
    if (!Object.hasOwn(this.tests, name)) throw new Error(`test not found: ${name}`);
    return this.tests[name]!;
  } as Env['getTest'];
  for (const name of ATTRIBUTE_FILTERS) {
    const orig = env.filters[name];
    if (!orig) continue;
    env.filters[name] = function (this: unknown, ...args: unknown[]) {
      // Keyword arguments (`sort(attribute='x')`) arrive as one object marked __keywords.
      const given = args.slice(1).flatMap((a) => (a && typeof a === 'object' && (a as { __keywords?: boolean }).__keywords ? Object.values(a) : [a]));
      for (const a of given) {
        if (typeof a === 'string') for (const part of a.split('.')) if (FORBIDDEN_NAMES.has(part)) deny(`'${part}'`);
      }
      return orig.apply(this, args);
    };
  }
  return env;
}
