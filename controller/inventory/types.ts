export interface InventoryHost {
  name: string;
  /** `ansible_host`, else `address`, else the name. */
  address: string;
  /** The host's own variables (from its inventory lines), not merged with its groups'. */
  vars: Record<string, unknown>;
  /**
   * Every group the host is in, directly or through children, `all` included, in variable
   * precedence order (`all` first, the group whose vars win last).
   */
  groups: string[];
  /** Where the host first appears. */
  line?: number;
}

export interface InventoryGroup {
  name: string;
  /** Hosts listed in the group itself (for `all`: every host), in inventory order. */
  hosts: string[];
  children: string[];
  vars: Record<string, unknown>;
  /** Where the group is first declared; absent when it is only implied (`all`, `ungrouped`). */
  line?: number;
}

export interface Inventory {
  file: string;
  /** In inventory order: the order hosts first appear in the file. */
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
}
