import { z } from 'zod';
import { FindingSchema } from './findings.js';

/**
 * A host's desired state as the controller holds it and pushes it to the agent: the rendered
 * tasks of each role slot after the last applying run that ran that slot cleanly on the host.
 * The agent keeps it in its state folder and re-checks it in check mode (the drift watch).
 */

/** `report`: findings are kept and shown; `fix`: a new finding starts a corrective run. */
export const DriftPolicySchema = z.enum(['report', 'fix']);
export type DriftPolicy = z.infer<typeof DriftPolicySchema>;

const RenderedTaskSchema = z.object({
  name: z.string(),
  module: z.string(),
  args: z.record(z.string(), z.unknown()),
  skip: z.string().optional(),
  role: z.string().optional(),
});

export const DesiredSlotSchema = z.object({
  /** The role slot (`lvs-realserver`), or the role's name for a role without one. */
  slot: z.string().min(1),
  /** The role(s) whose tasks these are. */
  roles: z.array(z.string()),
  /** `lvs_drift_policy` as it rendered for this role on this host. */
  policy: DriftPolicySchema,
  /** The run that last applied this slot cleanly. */
  runId: z.string(),
  appliedAt: z.string(),
  tasks: z.array(RenderedTaskSchema),
});
export type DesiredSlot = z.infer<typeof DesiredSlotSchema>;

export const DesiredStateSchema = z.object({
  host: z.string(),
  /** Changes whenever the state does; the agent ignores a push of the revision it holds. */
  revision: z.number().int().nonnegative(),
  updatedAt: z.string(),
  /** In the order the slots were first applied (the order the playbook runs them in). */
  slots: z.array(DesiredSlotSchema),
  factsOverride: z.object({ pkgManager: z.enum(['dnf', 'yum', 'apt', 'none']).optional(), initSystem: z.enum(['systemd', 'sysv', 'none']).optional() }).optional(),
});
export type DesiredState = z.infer<typeof DesiredStateSchema>;

/** Every task of a held state, slot after slot. */
export function heldTasks(s: Pick<DesiredState, 'slots'>): DesiredState['slots'][number]['tasks'] {
  return s.slots.flatMap((x) => x.tasks);
}

/** What an agent's watch reports after each check that differs from the one before (protocol `drift:findings`). */
export const DriftReportSchema = z.object({
  /** The full set of findings of the check: the controller's ledger resolves what is not in it. */
  all: z.array(FindingSchema),
  /** The first check since the agent (re)started its watch. */
  first: z.boolean(),
  /** The revision of the desired state that was checked. */
  revision: z.number().int().nonnegative(),
  /** Agent wall clock (epoch ms) when the check ended; the controller keeps its own times. */
  at: z.number(),
});
export type DriftReport = z.infer<typeof DriftReportSchema>;
