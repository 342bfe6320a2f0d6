import path from 'node:path';
import { CtlError } from '../common/errors.js';
import type { HostFacts, RenderedTask } from '../common/protocol.js';
import { hostVars, loadInventory, selectHosts, type Inventory } from './inventory/index.js';
import { loadPlaybook, type Play } from './playbook.js';
import { loadRole, renderRole, type Role } from './roles.js';
import type { RunSpec } from './run-manager.js';
import type { Vars } from './template.js';

export interface RunRequest {
  kind: 'role' | 'playbook';
  role?: string;
  playbook?: string;
  /** For a role: the hosts to run on; for a playbook: a limit on every play's hosts. */
  hosts?: string;
  inventory: string;
  extraVars?: Vars;
  check?: boolean;
  diff?: boolean;
}

export interface PlanEnv {
  projectDir: string;
  facts(host: string): HostFacts | undefined;
  online(host: string): boolean;
}

export interface PlannedRun {
  spec: RunSpec;
  inventory: Inventory;
  /** Per host, the variables its tasks were rendered with (for the cluster check). */
  vars: Record<string, Vars>;
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
  const inventory = await loadInventory(within(env.projectDir, req.inventory));
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

  for (const play of plays) {
    const hosts = selectHosts(inventory, play.hosts).filter((h) => !limit || limit.has(h));
    const rendered: Record<string, RenderedTask[]> = {};
    for (const roleName of play.roles) if (!roles.has(roleName)) roles.set(roleName, await loadRole(rolesDir, roleName));
    for (const host of hosts) {
      const facts = env.facts(host);
      if (!facts && !env.online(host)) {
        rendered[host] = [];
        continue;
      }
      rendered[host] = [];
      for (const roleName of play.roles) {
        const role = roles.get(roleName)!;
        const vars: Vars = { ...role.defaults, address: inventory.hosts.get(host)!.address, ...hostVars(inventory, host), ...play.vars, ...(req.extraVars ?? {}), facts: facts ?? {} };
        used[host] = { ...used[host], ...vars };
        rendered[host].push(...renderRole(role, vars));
      }
    }
    if (hosts.length) spec.plays.push({ name: play.name, hosts: rendered });
  }
  if (!spec.plays.length) throw new CtlError('CTL_ERR_PATTERN', 'no play matched any host', { field: 'hosts' });
  return { spec, inventory, vars: used };
}
