import path from 'node:path';
import type { z } from 'zod';
import type { Exec } from '../common/exec.js';
import type { FieldDrift } from '../common/findings.js';
import type { HostFacts } from '../common/protocol.js';

/**
 * Reads of kernel and OS tables made once per run and shared by every task of that run
 * (`ip -j addr`, `ipvsadm -Sn`, ...). A module that changes a table invalidates its key.
 */
export class RunCache {
  private readonly entries = new Map<string, Promise<unknown>>();
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let hit = this.entries.get(key) as Promise<T> | undefined;
    if (!hit) {
      hit = load();
      this.entries.set(key, hit);
      hit.catch(() => this.entries.delete(key));
    }
    return hit;
  }
  invalidate(...keys: string[]): void {
    for (const k of keys) this.entries.delete(k);
  }

  private readonly promises = new Set<string>();
  /**
   * Check mode: what an earlier task of this run would have created (`link:tunl0`), so later
   * tasks that need it report their own change instead of failing on its absence.
   */
  promise(names: readonly string[]): void {
    for (const n of names) this.promises.add(n);
  }
  promised(name: string): boolean {
    return this.promises.has(name);
  }
}

export interface ModuleContext {
  /** Host root under which every file path of a task is resolved ('/' on a real host). */
  root: string;
  check: boolean;
  exec: Exec;
  facts: HostFacts;
  cache: RunCache;
}

/** Resolves an absolute host path under the agent's root. */
export function hostPath(ctx: Pick<ModuleContext, 'root'>, p: string): string {
  return ctx.root === '/' ? p : path.join(ctx.root, p);
}

/** What a module plans: the changes to make and a before/after text for --diff. */
export interface Plan<C> {
  changes: C[];
  before: string;
  after: string;
  /** Extra note for the operator (e.g. entries reported but not owned). */
  msg?: string;
}

/**
 * A task module: argument schema first, then read current state, compute the change, apply it.
 * `plan` is pure so that it can be unit-tested on fixtures; `apply` runs only the planned changes
 * and is never called in check mode or when the plan is empty.
 */
export interface TaskModule<A, S, C> {
  name: string;
  summary: string;
  schema: z.ZodType<A>;
  read(args: A, ctx: ModuleContext): Promise<S>;
  plan(args: A, observed: S, ctx: ModuleContext): Plan<C>;
  apply(args: A, changes: C[], ctx: ModuleContext): Promise<void>;
  /**
   * What a task puts on a host (a stable id such as `address:lo:172.25.7.200`) and the
   * arguments that take it away again. The controller retires what a role slot owned and no
   * longer declares (switching NAT -> TUN -> DR). Modules whose effects are not owned leave
   * this out.
   */
  owns?(args: A): Owned | undefined;
  /** Kernel objects a changed task of this kind creates (`link:tunl0`); see RunCache.promise. */
  creates?(args: A): string[];
  /**
   * Drift findings: each planned change as the field it touches, what the host has and what the
   * task wants ("net.ipv4.conf.all.arp_ignore is 0, want 1"). Called with a non-empty plan;
   * modules without it are described from the plan's before/after text (agent/findings.ts).
   */
  describe?(args: A, observed: S, plan: Plan<C>): FieldDrift[];
}

export interface Owned {
  id: string;
  retire: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = TaskModule<any, any, any>;

export function defineModule<A, S, C>(m: TaskModule<A, S, C>): TaskModule<A, S, C> {
  return m;
}
