import { dirname } from 'node:path';
import { CtlError } from '../../common/errors.js';
import { groupDepths, groupHosts, precedenceOrder } from './graph.js';
import type { Inventory } from './types.js';

/**
 * What every host of an inventory shares, computed once and frozen: the `groups` table and each
 * group's vars. Hosts reference these instead of copying them, so planning N hosts costs N, not
 * N x inventory size; freezing is what makes sharing safe (a write throws instead of leaking into
 * other hosts' vars). A caller that needs to change something copies that part first.
 */
interface Shared {
  groups: Readonly<Record<string, readonly string[]>>;
  groupVars: Map<string, Readonly<Record<string, unknown>>>;
  depths: Map<string, number>;
}

const sharedCache = new WeakMap<Inventory, Shared>();

/** Freezes a value and everything in it; values are plain data from YAML, INI or JSON. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function shared(inv: Inventory): Shared {
  let s = sharedCache.get(inv);
  if (!s) {
    const groups: Record<string, readonly string[]> = {};
    for (const name of inv.groups.keys()) groups[name] = Object.freeze(groupHosts(inv, name));
    const groupVars = new Map<string, Readonly<Record<string, unknown>>>();
    // Copies, so the inventory itself stays as its loader built it.
    for (const g of inv.groups.values()) groupVars.set(g.name, deepFreeze(structuredClone(g.vars)));
    s = { groups: Object.freeze(groups), groupVars, depths: groupDepths(inv.groups) };
    sharedCache.set(inv, s);
  }
  return s;
}

/** The `groups` magic variable: every group to its hosts, children's hosts included (frozen). */
export function groupsVar(inv: Inventory): Readonly<Record<string, readonly string[]>> {
  return shared(inv).groups;
}

/**
 * A host's inventory variables as Ansible merges them: `all` lowest, then its other groups by
 * depth (children over parents), `ansible_group_priority`, and name; the host's own vars highest;
 * then the magic vars. Top-level keys replace, dicts are not merged (Ansible's default
 * `hash_behaviour = replace`). The result is frozen, values included, and shares them with
 * other hosts: spread it into a new object to add or replace a key.
 */
export function hostVars(inv: Inventory, host: string): Readonly<Record<string, unknown>> {
  const h = inv.hosts.get(host);
  if (!h) throw new CtlError('CTL_ERR_PATTERN', `host '${host}' is not in inventory ${inv.file}`, { field: host });
  const s = shared(inv);
  const merged: Record<string, unknown> = {};
  for (const g of precedenceOrder(inv.groups, h.groups, s.depths)) Object.assign(merged, s.groupVars.get(g));
  Object.assign(merged, deepFreeze(structuredClone(h.vars)), {
    inventory_hostname: h.name,
    inventory_hostname_short: h.name.split('.')[0],
    group_names: Object.freeze(h.groups.filter((g) => g !== 'all').sort()),
    groups: s.groups,
    inventory_file: inv.file,
    inventory_dir: dirname(inv.file),
  });
  return Object.freeze(merged);
}
