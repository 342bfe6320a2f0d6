import type { z } from 'zod';
import type { Exec } from '../common/exec.js';
import type { FieldDrift } from '../common/findings.js';
import type { HostFacts } from '../common/protocol.js';
import { confinedPath } from './root-path.js';
import type { KernelState } from './kstate/kernel-state.js';
import type { IpvsHealth, TaskRef } from './health/ipvs-hook.js';
import type { Table } from './kstate/tables.js';

export interface ModuleContext {
  /** Host root under which every file path of a task is resolved ('/' on a real host). */
  root: string;
  check: boolean;
  exec: Exec;
  facts: HostFacts;
  /** The run's kernel and host tables (agent/kstate), read once each until an apply touches them. */
  kernel: KernelState;
  /**
   * Aborted when the task must stop: its time limit passed or its job was cancelled. The runner
   * binds every `exec` of the task to it (the command's process group is killed); a module
   * with a long wait of its own should watch it too.
   */
  signal?: AbortSignal;
  /** On an agent that runs health checks: the checker the ipvs module plans against (docs/HEALTH.md). */
  health?: IpvsHealth;
  /** The task being run (set by the runner), for modules whose state outlives the run. */
  task?: TaskRef;
}

/**
 * Resolves an absolute host path under the agent's root, refusing (RootEscapeError) one that a
 * symlink would take out of it; see confinedPath. Every file operation of a module goes
 * through this.
 */
export function hostPath(ctx: Pick<ModuleContext, 'root'>, p: string): string {
  return confinedPath(ctx.root, p);
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
   * The kernel tables apply may change, including through the modules and commands it calls
   * (`[]` when none: files, packages, sysctls). The runner drops exactly these after every
   * apply, failed ones too, so later tasks read them again.
   */
  touches: readonly Table[] | ((args: A) => readonly Table[]);
  /**
   * What a task puts on a host (a stable id such as `address:lo:172.25.7.200`) and the
   * arguments that take it away again. The controller retires what a role slot owned and no
   * longer declares (switching NAT -> TUN -> DR). Modules whose effects are not owned leave
   * this out.
   */
  owns?(args: A): Owned | undefined;
  /** Kernel objects a changed task of this kind creates (`link:tunl0`); see KernelState.promise. */
  creates?(args: A): string[];
  /**
   * Drift findings: each planned change as the field it touches, what the host has and what the
   * task wants ("net.ipv4.conf.all.arp_ignore is 0, want 1"). Called with a non-empty plan;
   * modules without it are described from the plan's before/after text (agent/findings.ts).
   */
  describe?(args: A, observed: S, plan: Plan<C>): FieldDrift[];
  /**
   * Its read starts a command of its own on every check (a package manager, an init script,
   * iptables-save) rather than reading a shared kernel table: the drift watch checks it on its
   * slow interval, not on every short one.
   */
  slowCheck?: boolean;
  /**
   * How long one task of this module may take, read to apply, unless the task or the run sets
   * its own limit; DEFAULT_TASK_TIMEOUT_MS when left out (agent/task-limits.ts `moduleTimeoutMs`).
   */
  timeoutMs?: number;
}

export interface Owned {
  id: string;
  retire: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = TaskModule<any, any, any>;

/** The tables a task's apply may change. */
export function touchedBy<A>(module: Pick<TaskModule<A, unknown, unknown>, 'touches'>, args: A): readonly Table[] {
  return typeof module.touches === 'function' ? module.touches(args) : module.touches;
}

export function defineModule<A, S, C>(m: TaskModule<A, S, C>): TaskModule<A, S, C> {
  return m;
}
