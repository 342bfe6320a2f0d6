import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, type Node } from 'yaml';
import { CtlError, type ErrorWhere } from '../common/errors.js';
import type { RenderedTask } from '../common/protocol.js';
import { MODULES } from '../agent/modules/index.js';
import { describeIssues } from '../agent/validate.js';
import type { Owned } from '../agent/module.js';
import { evalCondition, OMIT, renderValue, resolveVars, TemplateError, TemplateSandboxError, type Vars } from './template.js';
import { keyLine, lineAt, readYaml, seqItems } from './yaml-file.js';
import { loadMeta, type ClusterRole } from './role-meta.js';
// The filters this project's roles use (lvs_realservers): every role is rendered through here.
import './lvs-filters.js';

const TASK_KEYS = new Set(['name', 'when', 'loop', 'loop_var', 'tags', 'timeout']);

export interface RoleTask {
  name: string;
  module: string;
  args: unknown;
  when?: string | boolean;
  loop?: unknown;
  loopVar: string;
  /** The task's own time limit in seconds (`timeout:`, as Ansible's task keyword). */
  timeout?: number;
  file: string;
  line?: number;
  node: Node;
  /** Line of a field inside the task (`['sysctl', 'value']`), for errors about that field. */
  lineOf(path: string[]): number | undefined;
}

export interface Role {
  name: string;
  dir: string;
  defaults: Vars;
  tasks: RoleTask[];
  /**
   * Roles that share a slot (`lvs-realserver-nat`, `-tun`, `-dr`) are alternatives: what one
   * of them put on a host and the one applied now does not declare is retired.
   */
  slot?: string;
  /** What the role is in an LVS cluster (`meta.yml: cluster`), read by the cluster check. */
  cluster?: ClusterRole;
}

export interface PlannedTask {
  task: RenderedTask;
  /**
   * The arguments as the module's schema parsed them (its defaults filled in), for readers on
   * the controller such as the cluster check; undefined for a skipped task. Never sent.
   */
  parsed?: unknown;
  owned?: Owned;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * A role named somewhere (a play's `roles:`, a meta.yml `base:`): a role that does not exist is
 * reported where it is named, not only by its name.
 */
export async function loadRoleAt(rolesDir: string, name: string, where: { file?: string; line?: number; field: string }): Promise<Role> {
  try {
    return await loadRole(rolesDir, name);
  } catch (e) {
    if (e instanceof CtlError && e.code === 'CTL_ERR_ROLE_NOT_FOUND' && where.file && !e.where.file) throw new CtlError(e.code, e.message, where);
    throw e;
  }
}

export async function loadRole(rolesDir: string, name: string, seen: string[] = []): Promise<Role> {
  if (!NAME.test(name)) throw new CtlError('CTL_ERR_ROLE_NOT_FOUND', `role name '${name}' is not valid (lowercase letters, digits, - _)`, { field: 'role' });
  const dir = path.join(rolesDir, name);
  const tasksFile = path.join(dir, 'tasks.yml');
  if (!existsSync(tasksFile) && !existsSync(path.join(dir, 'meta.yml'))) {
    throw new CtlError('CTL_ERR_ROLE_NOT_FOUND', `unknown role '${name}' (no ${tasksFile})`, { field: 'role' });
  }
  const defaultsFile = path.join(dir, 'defaults.yml');
  let defaults: Vars = {};
  if (existsSync(defaultsFile)) {
    const y = await readYaml(defaultsFile, 'CTL_ERR_ROLE_PARSE');
    if (y.value !== null && (typeof y.value !== 'object' || Array.isArray(y.value))) {
      throw new CtlError('CTL_ERR_ROLE_PARSE', 'defaults must be a mapping of variable: value', { file: defaultsFile, line: 1 });
    }
    defaults = (y.value as Vars | null) ?? {};
  }
  const meta = await loadMeta(dir);
  if (meta.base) {
    // A role built on another runs the base role's tasks with its own defaults layered on top.
    const where = meta.at!('base');
    if ([...seen, name].includes(meta.base)) throw new CtlError('CTL_ERR_ROLE_PARSE', `role '${meta.base}' is its own base: ${[...seen, name, meta.base].join(' > ')}`, where);
    let base: Role;
    try {
      base = await loadRole(rolesDir, meta.base, [...seen, name]);
    } catch (e) {
      if (e instanceof CtlError && e.code === 'CTL_ERR_ROLE_NOT_FOUND' && !e.where.file) throw new CtlError(e.code, e.message, where);
      throw e;
    }
    const slot = meta.slot ?? base.slot;
    const cluster = meta.cluster ?? base.cluster;
    return { name, dir, defaults: { ...base.defaults, ...defaults }, tasks: base.tasks, ...(slot ? { slot } : {}), ...(cluster ? { cluster } : {}) };
  }
  const { slot, cluster } = meta;
  const y = await readYaml(tasksFile, 'CTL_ERR_ROLE_PARSE');
  if (!Array.isArray(y.value)) throw new CtlError('CTL_ERR_ROLE_PARSE', 'tasks.yml must be a list of tasks', { file: tasksFile, line: 1 });
  const tasks = seqItems(y).map(({ value, line, node }, i): RoleTask => {
    if (!value || typeof value !== 'object' || Array.isArray(value) || !isMap(node)) {
      throw new CtlError('CTL_ERR_ROLE_PARSE', `task ${i + 1} must be a mapping`, { file: tasksFile, line });
    }
    const t = value as Record<string, unknown>;
    const modKeys = Object.keys(t).filter((k) => !TASK_KEYS.has(k));
    if (modKeys.length !== 1) {
      throw new CtlError('CTL_ERR_ROLE_PARSE', `task ${i + 1} must name exactly one module, found ${modKeys.length ? modKeys.join(', ') : 'none'}`, {
        file: tasksFile,
        line,
      });
    }
    const module = modKeys[0];
    if (t.timeout !== undefined && !(typeof t.timeout === 'number' && t.timeout > 0 && t.timeout <= 7 * 86_400)) {
      throw new CtlError('CTL_ERR_ROLE_PARSE', `task ${i + 1}: timeout must be a number of seconds (0 < timeout <= 604800), got ${JSON.stringify(t.timeout)}`, {
        file: tasksFile,
        line: keyLine(y, node, 'timeout'),
        field: 'timeout',
      });
    }
    if (!MODULES.has(module)) {
      throw new CtlError('CTL_ERR_UNKNOWN_MODULE', `unknown module '${module}' (known: ${[...MODULES.keys()].sort().join(', ')})`, {
        file: tasksFile,
        line: keyLine(y, node, module),
        field: module,
      });
    }
    return {
      name: typeof t.name === 'string' ? t.name : `${module} ${i + 1}`,
      module,
      args: t[module] ?? {},
      ...(t.when !== undefined ? { when: t.when as string | boolean } : {}),
      ...(t.loop !== undefined ? { loop: t.loop } : {}),
      loopVar: typeof t.loop_var === 'string' ? t.loop_var : 'item',
      ...(t.timeout !== undefined ? { timeout: t.timeout as number } : {}),
      file: tasksFile,
      line,
      node,
      lineOf: (path: string[]) => lineAt(y, node, path),
    };
  });
  return { name, dir, defaults, tasks, ...(slot ? { slot } : {}), ...(cluster ? { cluster } : {}) };
}

/** Where a role default is written, for an error about its value. */
function defaultWhere(role: Role, variable: string): ErrorWhere {
  const file = path.join(role.dir, 'defaults.yml');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const line = text.split('\n').findIndex((l) => l.startsWith(`${variable}:`));
  return line >= 0 ? { file, line: line + 1, field: variable } : { field: variable };
}

/**
 * Renders a role's tasks for one host: templates, `when`, `loop`, then the module's own schema,
 * so a bad argument is refused here with file and line before anything is pushed. `origin`
 * tells where a variable that is not a role default was set, for errors in its value.
 */
export function renderRole(role: Role, vars: Vars, origin?: (variable: string) => ErrorWhere | undefined): PlannedTask[] {
  let ctx: Vars;
  try {
    ctx = resolveVars({ omit: OMIT, ...vars });
  } catch (e) {
    if (!(e instanceof TemplateSandboxError) || !e.variable) throw e;
    throw new CtlError('CTL_ERR_TEMPLATE', `variable '${e.variable}': ${e.message}`, origin?.(e.variable) ?? defaultWhere(role, e.variable));
  }
  const out: PlannedTask[] = [];
  for (const task of role.tasks) {
    const where = (field?: string) => ({ file: task.file, line: task.line, ...(field ? { field } : {}) });
    const guard = <T>(field: string, f: () => T): T => {
      try {
        return f();
      } catch (e) {
        if (e instanceof TemplateError) {
          const sub = (e as TemplateError & { field?: string }).field;
          const path = [field, ...(sub ? sub.split('.') : [])];
          throw new CtlError('CTL_ERR_TEMPLATE', `task '${task.name}': ${e.message}`, { ...where(path.join('.')), line: task.lineOf(path) ?? task.line });
        }
        throw e;
      }
    };
    const items = task.loop === undefined ? [undefined] : guard('loop', () => renderValue(task.loop, ctx));
    if (!Array.isArray(items)) throw new CtlError('CTL_ERR_TEMPLATE', `task '${task.name}': loop must be a list`, where('loop'));
    for (const item of items) {
      const scope = task.loop === undefined ? ctx : { ...ctx, [task.loopVar]: item };
      const name = String(guard('name', () => renderValue(task.name, scope)));
      if (task.when !== undefined && !guard('when', () => evalCondition(task.when!, scope))) {
        out.push({ task: { name, module: task.module, args: {}, skip: `condition is false: ${task.when}`, role: role.name } });
        continue;
      }
      const args = guard(task.module, () => renderValue(task.args, scope)) as Record<string, unknown>;
      const module = MODULES.get(task.module)!;
      const parsed = module.schema.safeParse(args);
      if (!parsed.success) {
        throw new CtlError('CTL_ERR_TASK_ARGS', `task '${name}': ${describeIssues(parsed.error)}`, where(task.module));
      }
      const owned = module.owns?.(parsed.data);
      const limit = task.timeout !== undefined ? { timeoutMs: task.timeout * 1000 } : {};
      out.push({ task: { name, module: task.module, args, role: role.name, ...limit }, parsed: parsed.data, ...(owned ? { owned } : {}) });
    }
  }
  return out;
}
