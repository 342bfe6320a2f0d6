import { InventoryBuilder } from './build.js';
import type { Inventory } from './types.js';

/**
 * Several `-i` inventories as one, as ansible-playbook combines them: hosts and groups are
 * united, and where two files set the same variable the later file wins.
 */
export function mergeInventories(invs: Inventory[]): Inventory {
  if (invs.length === 1) return invs[0];
  const b = new InventoryBuilder(invs.map((i) => i.file).join(','));
  for (const inv of invs) {
    for (const g of inv.groups.values()) {
      b.addGroup(g.name, g.line);
      b.setGroupVars(g.name, g.vars);
    }
    for (const h of inv.hosts.values()) {
      const direct = [...inv.groups.values()].filter((g) => g.name !== 'all' && g.name !== 'ungrouped' && g.hosts.includes(h.name));
      for (const g of direct.length ? direct : [{ name: 'ungrouped' }]) b.addHost(h.name, g.name, h.vars, h.line);
    }
    for (const g of inv.groups.values()) if (g.name !== 'all') for (const c of g.children) b.addChild(g.name, c, g.line, `${g.name}.children`);
  }
  return b.finish();
}
