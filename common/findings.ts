import { z } from 'zod';

/**
 * One field of a task that differs from what the task declares, as a module describes its own
 * planned change: `field` is the stable name of what differs (it keys the finding across
 * checks, so it names the object, never its values), `before` what the host has, `after` what
 * the task wants (null: absent), `text` the sentence an operator reads.
 */
export const FieldDriftSchema = z
  .object({
    field: z.string().min(1),
    before: z.string().nullable(),
    after: z.string().nullable(),
    text: z.string().min(1),
  })
  .strict();
export type FieldDrift = z.infer<typeof FieldDriftSchema>;

/** A drift finding on a host: which task of which role, and the field that differs. */
export const FindingSchema = FieldDriftSchema.extend({
  role: z.string().optional(),
  task: z.string(),
  module: z.string(),
}).strict();
export type Finding = z.infer<typeof FindingSchema>;

/** Identity of a finding on its host: role, task and field (values may change, it stays the same finding). */
export function findingKey(f: Pick<Finding, 'role' | 'task' | 'field'>): string {
  return JSON.stringify([f.role ?? '', f.task, f.field]);
}
