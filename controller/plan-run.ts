import path from 'node:path';
import { CtlError } from '../common/errors.js';
import type { HostFacts, RenderedTask } from '../common/protocol.js';
import { hostVars, loadInventory, selectHosts, type Inventory } from './inventory/index.js';
import { mergeInventories } from './inventory/merge.js';
import { loadPlaybook, type Play } from './playbook.js';
import { loadRoleAt, renderRole, type Role } from './roles.js';
import type { RunSpec } from './run-manager.js';
import type { LedgerEntry } from './store.js';
import { renderString, type Vars } from './template.js';

export interface RunRequest {
  kind: 'role' | 'playbook';
  role?: string;
  playbook?: string;
  /** For a role: the hosts to run on; for a playbook: a limit on every play's hosts. */
  hosts?: string;
  /** One inventory or several (`-i a -i b`): later files win where they overlap. */
  inventory: string | string[];
  extraVars?: Vars;
  check?: boolean;
  diff?: boolean;
}

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
}

/** Role names in a play may be templates of inventory vars: `lvs-realserver-{{ lvs_mode }}`. */
function roleNameFor(name: string, vars: Vars, play: Play): string {
  try {
    return String(renderString(name, vars));
  } catch (e) {
    throw new CtlError('CTL_ERR_TEMPLATE', `play '${play.name}': role '${name}': ${(e as Error).message}`, { file: play.file, line: play.line, field: 'roles' });
  }
}

function within(dir: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(dir, p);
}

/**
 * Renders a request into concrete task lists per host and play. Everything is loaded and checked
 * before any host is touched: a bad inventory, role, template or argument refuses the whole run.
 * Precedence, lowest first: role defaults, inventory vars, play vars, -e extra vars, facts.
 */
export async function planRun(req: RunRequest, env: PlanEnv): Promise<PlannedRun> {
  const files = Array.isArray(req.inventory) ? req.inventory : [req.inventory];
  const inventory = mergeInventories(await Promise.all(files.map((f) => loadInventory(within(env.projectDir, f)))));
  let plays: Play[];
  let title: string;
  if (req.kind === 'role') {
    if (!req.role) throw new CtlError('CTL_ERR_USAGE', 'a role run needs a role name', { field: 'role' });
    if (!req.hosts) throw new CtlError('CTL_ERR_USAGE', 'a role run needs --hosts PATTERN', { field: 'hosts' });
    plays = [{ name: `role ${req.role}`, hosts: req.hosts, roles: [req.role], vars: {} }];
    title = `role ${req.role} on ${req.hosts}`;
  } else {
    if (!req.playbook) throw new CtlError('CTL_ERR_USAGE', 'a playbook run needs a playbook file', { field: 'playbook' });
    plays = await loadPlaybook(within(env.projectDir, req.playbook));
    title = `playbook ${path.basename(req.playbook)}${req.hosts ? ` limited to ${req.hosts}` : ''}`;
  }
  const limit = req.kind === 'playbook' && req.hosts ? new Set(selectHosts(inventory, req.hosts)) : undefined;
  const roles = new Map<string, Role>();
  const rolesDir = path.join(env.projectDir, 'roles');
  const spec: RunSpec = { title, kind: req.kind, check: !!req.check, diff: !!req.diff, plays: [] };
  const used: Record<string, Vars> = {};

  // Shared by every host's vars, so frozen like the inventory data it holds (see hostVars).
  const hostvars = Object.freeze(Object.fromEntries([...inventory.hosts.values()].map((h) => [h.name, Object.freeze({ address: h.address, ...hostVars(inventory, h.name) })])));
  /** host -> slot -> what the roles of that slot declare in this run. */
  const declared: Record<string, Record<string, LedgerEntry[]>> = {};
  /** host -> slot -> where that slot's first task sits (play index, position). */
  const firstAt: Record<string, Record<string, [number, number]>> = {};

  for (const play of plays) {
    const hosts = selectHosts(inventory, play.hosts).filter((h) => !limit || limit.has(h));
    const rendered: Record<string, RenderedTask[]> = {};
    for (const host of hosts) {
      const facts = env.facts(host);
      rendered[host] = [];
      if (!facts && !env.online(host) && !env.renderOffline) continue;
      const inventoryVars = { ...hostvars[host], ...play.vars, ...(req.extraVars ?? {}) };
      for (const [i, roleName] of play.roles.map((r) => roleNameFor(r, inventoryVars, play)).entries()) {
        if (!roles.has(roleName)) roles.set(roleName, await loadRoleAt(rolesDir, roleName, { file: play.file, line: play.roleLines?.[i] ?? play.line, field: 'roles' }));
        const role = roles.get(roleName)!;
        const vars: Vars = { ...role.defaults, ...inventoryVars, hostvars, facts: facts ?? {} };
        used[host] = { ...used[host], ...vars };
        const planned = renderRole(role, vars);
        if (role.slot) {
          const mine = ((declared[host] ??= {})[role.slot] ??= []);
          (firstAt[host] ??= {})[role.slot] ??= [spec.plays.length, rendered[host].length];
          for (const p of planned) if (p.owned) mine.push({ id: p.owned.id, module: p.task.module, retire: p.owned.retire });
        }
        rendered[host].push(...planned.map((p) => p.task));
      }
    }
    if (hosts.length) spec.plays.push({ name: play.name, hosts: rendered });
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
  if (!spec.plays.length) throw new CtlError('CTL_ERR_PATTERN', 'no play matched any host', { field: 'hosts' });
  return { spec, inventory, vars: used };
}
