import { CtlError } from '../../common/errors.js';
import { groupDepths, precedenceOrder } from './graph.js';
import { expandHostToken, HostRangeError } from './host-range.js';
import type { Inventory, InventoryGroup, InventoryHost } from './types.js';

/** A variable name as Ansible accepts it, in either inventory format. */
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An inventory file's lines, without a byte-order mark, whatever its line ends. */
export function textLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
}

export function parseError(file: string, line: number | undefined, field: string, detail: string): CtlError {
  return new CtlError('CTL_ERR_INVENTORY_PARSE', detail, { file, line, field });
}

/** Ansible ranks groups by an integer `ansible_group_priority`; anything else is an error where it is set. */
export function checkGroupPriority(file: string, line: number | undefined, field: string, value: unknown): void {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (!Number.isInteger(n)) {
    throw parseError(file, line, field, `ansible_group_priority must be an integer, got ${JSON.stringify(value)}`);
  }
}

interface Edge {
  parent: string;
  child: string;
  line?: number;
  field: string;
}

/**
 * What the INI and YAML readers share: they add groups, hosts and children as they read, and
 * `finish` applies Ansible's rules (implicit `all` and `ungrouped`, no cycles, every host's
 * groups) once, so both formats give the same inventory for the same content.
 */
export class InventoryBuilder {
  private readonly hosts = new Map<string, InventoryHost>();
  private readonly groups = new Map<string, InventoryGroup>();
  private readonly edges: Edge[] = [];
  private readonly memberOf = new Map<string, Set<string>>();

  constructor(readonly file: string) {
    this.addGroup('all');
    this.addGroup('ungrouped');
  }

  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  addGroup(name: string, line?: number): InventoryGroup {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, hosts: [], children: [], vars: {} };
      this.groups.set(name, g);
    }
    if (g.line === undefined && line !== undefined) g.line = line;
    return g;
  }

  /** A host is one host however many groups list it; later variables override earlier ones. */
  addHost(name: string, group: string, vars: Record<string, unknown>, line?: number): void {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, address: name, vars: {}, groups: [] };
      if (line !== undefined) h.line = line;
      this.hosts.set(name, h);
      this.memberOf.set(name, new Set());
    }
    // A range line gives every host the same values; each host gets its own copy.
    Object.assign(h.vars, structuredClone(vars));
    const g = this.addGroup(group);
    // memberOf doubles as the membership test: `g.hosts.includes` made big groups quadratic.
    if (!this.memberOf.get(name)!.has(group)) g.hosts.push(name);
    this.memberOf.get(name)!.add(group);
  }

  /**
   * A host as an inventory names it (`web[1:3]:2222`): each host of the range gets the vars,
   * and a port becomes `ansible_port` unless the vars set it themselves, as in Ansible.
   */
  addHostToken(token: string, group: string, vars: Record<string, unknown>, line: number | undefined, field: string): void {
    let expanded: ReturnType<typeof expandHostToken>;
    try {
      expanded = expandHostToken(token);
    } catch (e) {
      if (e instanceof HostRangeError) throw parseError(this.file, line, field, e.message);
      throw e;
    }
    const all = expanded.port === undefined ? vars : { ansible_port: expanded.port, ...vars };
    for (const name of expanded.names) this.addHost(name, group, all, line);
  }

  /** The child need not exist yet; `finish` checks that it was defined somewhere. */
  addChild(parent: string, child: string, line: number | undefined, field: string): void {
    this.edges.push({ parent, child, line, field });
  }

  setGroupVars(group: string, vars: Record<string, unknown>): void {
    Object.assign(this.addGroup(group).vars, vars);
  }

  finish(): Inventory {
    this.linkChildren();
    this.checkCycles();
    const all = this.groups.get('all')!;
    const parented = new Set(this.edges.map((e) => e.child));
    const explicit = new Set(all.children);
    all.children = [...this.groups.keys()].filter((n) => explicit.has(n) || (n !== 'all' && !parented.has(n)));
    all.hosts = [...this.hosts.keys()];
    this.groups.get('ungrouped')!.hosts = [...this.hosts.keys()].filter((h) =>
      [...this.memberOf.get(h)!].every((g) => g === 'all' || g === 'ungrouped'),
    );
    const inv: Inventory = { file: this.file, hosts: this.hosts, groups: this.groups };
    this.assignHostGroups(inv);
    return inv;
  }

  private linkChildren(): void {
    for (const e of this.edges) {
      if (e.child === 'all') {
        throw parseError(this.file, e.line, e.field, `'all' contains every group and cannot be a child of '${e.parent}'`);
      }
      if (!this.groups.has(e.child)) {
        throw parseError(this.file, e.line, e.field, `child group '${e.child}' of '${e.parent}' is never defined`);
      }
      const p = this.addGroup(e.parent);
      if (!p.children.includes(e.child)) p.children.push(e.child);
    }
  }

  private checkCycles(): void {
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (name: string): void => {
      state.set(name, 'open');
      path.push(name);
      for (const e of this.edges.filter((x) => x.parent === name)) {
        const s = state.get(e.child);
        if (s === 'open') {
          const loop = [...path.slice(path.indexOf(e.child)), e.child].join(' > ');
          throw parseError(this.file, e.line, e.field, `group '${e.child}' in '${name}' makes a cycle: ${loop}`);
        }
        if (s === undefined) visit(e.child);
      }
      path.pop();
      state.set(name, 'done');
    };
    for (const name of this.groups.keys()) if (!state.has(name)) visit(name);
  }

  private assignHostGroups(inv: Inventory): void {
    const ancestors = new Map<string, string[]>();
    for (const g of inv.groups.values()) {
      for (const c of g.children) ancestors.set(c, [...(ancestors.get(c) ?? []), g.name]);
    }
    const depths = groupDepths(inv.groups);
    const ungrouped = new Set(inv.groups.get('ungrouped')!.hosts);
    for (const h of inv.hosts.values()) {
      const seen = new Set<string>(['all']);
      const climb = (g: string): void => {
        if (seen.has(g)) return;
        seen.add(g);
        for (const p of ancestors.get(g) ?? []) climb(p);
      };
      for (const g of this.memberOf.get(h.name)!) if (g !== 'ungrouped') climb(g);
      if (ungrouped.has(h.name)) climb('ungrouped');
      h.groups = precedenceOrder(inv.groups, seen, depths);
      const addr = h.vars['ansible_host'] ?? h.vars['address'];
      h.address = addr === undefined || addr === null || addr === '' ? h.name : String(addr);
    }
  }
}
