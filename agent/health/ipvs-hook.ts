import type { Adjusted } from './adjust.js';
import type { HealthArgs } from './config.js';

/** The task being run, as the controller named it: what identifies an ipvs task across runs. */
export interface TaskRef {
  name: string;
  role?: string;
}

/**
 * What the `ipvs` module asks of the director's health checker (ModuleContext.health): the
 * table to plan against, whether the checker already runs this declaration, and, after a
 * successful apply, that it take the declaration over. agent/health-agent.ts implements it.
 */
export interface IpvsHealth {
  /** The declared table adjusted by the current health view; changes nothing (check mode too). */
  preview(args: HealthArgs): Adjusted;
  /** True when the checker runs exactly these arguments for this source. */
  holds(source: string, args: HealthArgs): boolean;
  /**
   * The checker takes these arguments over for this source (they are kept in the state folder,
   * so that the health-driven re-run of the task and a restarted agent have them). A task with
   * policy `purge` declares the whole table: it replaces every other source.
   */
  configure(source: string, args: HealthArgs & { policy: string }, task: TaskRef | undefined): void;
}

/**
 * The checker's source for a task: its role and name, stable across runs. Without a task (a
 * module run outside a task list) every ipvs declaration is one source.
 */
export function healthSource(task: TaskRef | undefined): string {
  return task ? `${task.role ?? ''}/${task.name}` : 'ipvs';
}
