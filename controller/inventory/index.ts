export type { Inventory, InventoryGroup, InventoryHost } from './types.js';
export { loadInventory, parseInventory } from './load.js';
export { parseIni } from './ini.js';
export { parseYamlInventory } from './yaml.js';
export { hostVars } from './vars.js';
export { matchPattern, selectHosts } from './pattern.js';
export type { PatternMatch } from './pattern.js';
