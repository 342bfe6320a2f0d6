import type { Inventory, InventoryGroup } from './types.js';

/** Ansible's default for groups that do not set `ansible_group_priority`. */
const DEFAULT_PRIORITY = 1;

export function parentsOf(groups: Map<string, InventoryGroup>): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const g of groups.values()) parents.set(g.name, []);
  for (const g of groups.values()) for (const c of g.children) parents.get(c)?.push(g.name);
  return parents;
}

/** Longest path from `all`, which is how Ansible ranks a group's depth. */
export function groupDepths(groups: Map<string, InventoryGroup>): Map<string, number> {
  const parents = parentsOf(groups);
  const depth = new Map<string, number>();
  const visit = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const ps = parents.get(name) ?? [];
    const d = name === 'all' || ps.length === 0 ? 0 : 1 + Math.max(...ps.map(visit));
    depth.set(name, d);
    return d;
  };
  for (const name of groups.keys()) visit(name);
  return depth;
}

export function groupPriority(group: InventoryGroup): number {
  const p = group.vars['ansible_group_priority'];
  return p === undefined ? DEFAULT_PRIORITY : Number(p);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Groups in the order their vars are applied, later winning: by depth (`all` first, children
 * after parents), then `ansible_group_priority`, then name, as Ansible's `sort_groups` does.
 */
export function precedenceOrder(
  groups: Map<string, InventoryGroup>,
  names: Iterable<string>,
  depths: Map<string, number> = groupDepths(groups),
): string[] {
  const key = (n: string): [number, number] => [depths.get(n) ?? 0, groupPriority(groups.get(n)!)];
  return [...names].sort((a, b) => {
    const [da, pa] = key(a);
    const [db, pb] = key(b);
    return da - db || pa - pb || compareText(a, b);
  });
}

/** The group and every group below it. */
export function descendants(groups: Map<string, InventoryGroup>, name: string): string[] {
  const seen = new Set<string>();
  const walk = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const c of groups.get(n)?.children ?? []) walk(c);
  };
  walk(name);
  return [...seen];
}

/** Hosts in a group or any group below it, in inventory order. */
export function groupHosts(inv: Inventory, name: string): string[] {
  const members = new Set<string>();
  for (const g of descendants(inv.groups, name)) for (const h of inv.groups.get(g)?.hosts ?? []) members.add(h);
  return [...inv.hosts.keys()].filter((h) => members.has(h));
}
