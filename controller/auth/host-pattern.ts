import { matchPattern } from '../inventory/pattern.js';
import type { Inventory } from '../inventory/types.js';

/**
 * Whether a host name matches an Ansible-style host pattern on its own: names, globs
 * (`web*`), ranges (`server[2:4]`), `~regex`, `a,b`, exclusions (`all:!db1`). There is no
 * inventory here, so group names other than `all` match nothing. Throws CTL_ERR_PATTERN for a
 * malformed pattern, which `create` uses to refuse it up front.
 */
export function hostMatches(pattern: string, host: string): boolean {
  const inv: Inventory = {
    file: '(enrollment token)',
    hosts: new Map([[host, { name: host, address: host, vars: {}, groups: ['all'] }]]),
    groups: new Map([['all', { name: 'all', hosts: [host], children: [], vars: {} }]]),
  };
  return matchPattern(inv, pattern).hosts.includes(host);
}
