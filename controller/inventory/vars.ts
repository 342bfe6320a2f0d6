import { dirname } from 'node:path';
import { CtlError } from '../../common/errors.js';
import { groupHosts, precedenceOrder } from './graph.js';
import type { Inventory } from './types.js';

const groupsCache = new WeakMap<Inventory, Record<string, string[]>>();

/** The `groups` magic variable: every group to its hosts, children's hosts included. */
export function groupsVar(inv: Inventory): Record<string, string[]> {
  let groups = groupsCache.get(inv);
  if (!groups) {
    groups = {};
    for (const name of inv.groups.keys()) groups[name] = groupHosts(inv, name);
    groupsCache.set(inv, groups);
  }
  return groups;
}

/**
 * A host's inventory variables as Ansible merges them: `all` lowest, then its other groups by
 * depth (children over parents), `ansible_group_priority`, and name; the host's own vars highest;
 * then the magic vars. Top-level keys replace, dicts are not merged (Ansible's default
 * `hash_behaviour = replace`). The result is a copy the caller may change.
 */
export function hostVars(inv: Inventory, host: string): Record<string, unknown> {
  const h = inv.hosts.get(host);
  if (!h) throw new CtlError('CTL_ERR_PATTERN', `host '${host}' is not in inventory ${inv.file}`, { field: host });
  const merged: Record<string, unknown> = {};
  for (const g of precedenceOrder(inv.groups, h.groups)) Object.assign(merged, inv.groups.get(g)!.vars);
  Object.assign(merged, h.vars);
  const groups = groupsVar(inv);
  Object.assign(merged, {
    inventory_hostname: h.name,
    inventory_hostname_short: h.name.split('.')[0],
    group_names: h.groups.filter((g) => g !== 'all').sort(),
    groups,
    inventory_file: inv.file,
    inventory_dir: dirname(inv.file),
  });
  return structuredClone(merged);
}
