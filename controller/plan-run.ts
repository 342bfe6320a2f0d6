import path from 'node:path';
import { CtlError, type ErrorWhere } from '../common/errors.js';
import type { RunRequest, SourceFile } from '../common/api.js';
import type { FactsOverride, HostFacts, RenderedTask } from '../common/protocol.js';
import { factsOverride } from './facts-override.js';
import { hostVars, loadInventory, parseInventory, selectHosts, type Inventory } from './inventory/index.js';
import { mergeInventories } from './inventory/merge.js';
import { loadPlaybook, parsePlaybook, type Play } from './playbook.js';
import { resolveInProject } from './project-path.js';
import { loadRoleAt, renderRole, type PlannedTask, type Role } from './roles.js';
import type { RunSpec } from './run-manager.js';
import type { LedgerEntry } from './store.js';
import { renderString, type Vars } from './template.js';
import { parseYaml } from './yaml-file.js';
import { driftPolicyOf, type PlannedSlot } from './drift-policy-var.js';


/** What a run is asked for is defined by the API (common/api.ts). */
export type { RunRequest, SourceFile };

export interface PlanEnv {
  projectDir: string;
  /** What a role slot owned on a host after the last applied run. */
  ledger(host: string, slot: string): LedgerEntry[];
  facts(host: string): HostFacts | undefined;
  online(host: string): boolean;
  /** Render hosts that have no agent and no facts too (for `ctl lint`). */
  renderOffline?: boolean;
}

export interface PlannedRun {
  spec: RunSpec;
  inventory: Inventory;
  /** Per host, the variables its tasks were rendered with (for the cluster check). */
  vars: Record<string, Vars>;
  /** Per host, what its roles declared, with the arguments as the modules parsed them. */
  tasks: Record<string, PlannedTask[]>;
  /** Per host, the roles applied there, with what each says it is (`meta.yml: cluster`). */
  roles: Record<string, Pick<Role, 'name' | 'cluster'>[]>;
}

/** Role names in a play may be templates of inventory vars: `lvs-realserver-{{ lvs_mode }}`. */
function roleNameFor(name: string, vars: Vars, play: Play): string {
  try {
    return String(renderString(name, vars));
  } catch (e) {
    throw new CtlError('CTL_ERR_TEMPLATE', `play '${play.name}': role '${name}': ${(e as Error).message}`, { file: play.file, line: play.line, field: 'roles' });
  }
}

function loadSource(projectDir: string, src: SourceFile): Promise<Inventory> {
  return typeof src === 'string' ? loadInventory(resolveInProject(projectDir, src, 'inventory')) : Promise.resolve(parseInventory(src.content, src.name));
}

/** Where a variable of this host's plan was set, for an error about its value. */
function varOrigin(req: RunRequest, play: Play, inventory: Inventory, own: Vars, host: string) {
  return (name: string): ErrorWhere | undefined => {
    if (req.extraVars && Object.hasOwn(req.extraVars, name)) return { field: `-e ${name}` };
    if (Object.hasOwn(play.vars, name)) return { file: play.file, line: play.line, field: `vars.${name}` };
    if (Object.hasOwn(own, name)) return { file: inventory.file, line: inventory.hosts.get(host)?.line, field: name };
    return undefined;
  };
}

/**
 * Renders a request into concrete task lists per host and play. Everything is loaded and checked
 * before any host is touched: a bad inventory, role, template or argument refuses the whole run.
 * Precedence, lowest first: role defaults, inventory vars, play vars, -e extra vars, facts.
 */
export async function planRun(req: RunRequest, env: PlanEnv): Promise<PlannedRun> {
  const files = Array.isArray(req.inventory) ? req.inventory : [req.inventory];
  const inventory = mergeInventories(await Promise.all(files.map((f) => loadSource(env.projectDir, f))));
  let plays: Play[];
  let title: string;
  if (req.kind === 'role') {
    if (!req.role) throw new CtlError('CTL_ERR_USAGE', 'a role run needs a role name', { field: 'role' });
    if (!req.hosts) throw new CtlError('CTL_ERR_USAGE', 'a role run needs --hosts PATTERN', { field: 'hosts' });
    plays = [{ name: `role ${req.role}`, hosts: req.hosts, roles: [req.role], vars: {} }];
    title = `role ${req.role} on ${req.hosts}`;
  } else {
    if (!req.playbook) throw new CtlError('CTL_ERR_USAGE', 'a playbook run needs a playbook file', { field: 'playbook' });
    const book = req.playbook;
    plays = typeof book === 'string' ? await loadPlaybook(resolveInProject(env.projectDir, book, 'playbook')) : parsePlaybook(parseYaml(book.content, book.name, 'CTL_ERR_PLAYBOOK_PARSE'));
    title = `playbook ${path.basename(typeof book === 'string' ? book : book.name)}${req.hosts ? ` limited to ${req.hosts}` : ''}`;
  }
  const limit = req.kind === 'playbook' && req.hosts ? new Set(selectHosts(inventory, req.hosts)) : undefined;
  const roles = new Map<string, Role>();
  const rolesDir = path.join(env.projectDir, 'roles');
  const spec: RunSpec = { title, kind: req.kind, check: !!req.check, diff: !!req.diff, plays: [] };
  const used: Record<string, Vars> = {};
  const tasks: PlannedRun['tasks'] = {};
  const applied: PlannedRun['roles'] = {};

  // Shared by every host's vars, so frozen like the inventory data it holds (see hostVars).
  const hostvars = Object.freeze(Object.fromEntries([...inventory.hosts.values()].map((h) => [h.name, Object.freeze({ address: h.address, ...hostVars(inventory, h.name) })])));
  /** host -> slot -> what the roles of that slot declare in this run. */
  const declared: Record<string, Record<string, LedgerEntry[]>> = {};
  /** host -> slot -> where that slot's first task sits (play index, position). */
  const firstAt: Record<string, Record<string, [number, number]>> = {};
  /** host -> what each slot declares, in order: the host's desired state once this run applied cleanly. */
  const desired: Record<string, PlannedSlot[]> = {};

  for (const play of plays) {
    const hosts = selectHosts(inventory, play.hosts).filter((h) => !limit || limit.has(h));
    const rendered: Record<string, RenderedTask[]> = {};
    const overrides: Record<string, FactsOverride> = {};
    for (const host of hosts) {
      const facts = env.facts(host);
      rendered[host] = [];
      if (!facts && !env.online(host) && !env.renderOffline) continue;
      const inventoryVars = { ...hostvars[host], ...play.vars, ...(req.extraVars ?? {}) };
      const override = factsOverride(host, inventoryVars);
      if (override) overrides[host] = override;
      for (const [i, roleName] of play.roles.map((r) => roleNameFor(r, inventoryVars, play)).entries()) {
        if (!roles.has(roleName)) {
          const where = { file: play.file, line: play.roleLines?.[i] ?? play.line, field: 'roles' };
          resolveInProject(env.projectDir, path.join('roles', roleName), 'role');
          roles.set(roleName, await loadRoleAt(rolesDir, roleName, where));
        }
        const role = roles.get(roleName)!;
        const vars: Vars = { ...role.defaults, ...inventoryVars, hostvars, facts: { ...facts, ...override } };
        used[host] = { ...used[host], ...vars };
        const planned = renderRole(role, vars, varOrigin(req, play, inventory, hostvars[host]!, host));
        (tasks[host] ??= []).push(...planned);
        (applied[host] ??= []).push(role);
        if (role.slot) {
          const mine = ((declared[host] ??= {})[role.slot] ??= []);
          (firstAt[host] ??= {})[role.slot] ??= [spec.plays.length, rendered[host].length];
          for (const p of planned) if (p.owned) mine.push({ id: p.owned.id, module: p.task.module, retire: p.owned.retire });
        }
        rendered[host].push(...planned.map((p) => p.task));
        const key = role.slot ?? role.name;
        const policy = driftPolicyOf(vars, varOrigin(req, play, inventory, hostvars[host]!, host));
        const held = (desired[host] ??= []).find((x) => x.slot === key);
        if (held) held.tasks.push(...planned.map((p) => p.task));
        else desired[host].push({ slot: key, roles: [role.name], policy, tasks: planned.map((p) => p.task) });
        if (held && !held.roles.includes(role.name)) held.roles.push(role.name);
      }
    }
    if (hosts.length) spec.plays.push({ name: play.name, hosts: rendered, ...(Object.keys(overrides).length ? { factsOverride: overrides } : {}) });
  }

  // What a slot owned before and declares no more is retired first, where the slot begins.
  for (const [host, slots] of Object.entries(declared)) {
    for (const [slot, entries] of Object.entries(slots)) {
      const now = new Set(entries.map((e) => e.id));
      const stale = env.ledger(host, slot).filter((e) => !now.has(e.id));
      const [playIdx, pos] = firstAt[host][slot];
      spec.plays[playIdx].hosts[host].splice(
        pos,
        0,
        ...stale.map((e): RenderedTask => ({ name: `retire ${e.id} (no longer declared)`, module: e.module, args: e.retire, role: slot })),
      );
    }
  }
  spec.ledger = declared;
  spec.desired = desired;
  if (!spec.plays.length) throw new CtlError('CTL_ERR_PATTERN', 'no play matched any host', { field: 'hosts' });
  return { spec, inventory, vars: used, tasks, roles: applied };
}
