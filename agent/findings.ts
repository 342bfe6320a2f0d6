import type { FieldDrift, Finding } from '../common/findings.js';
import type { AnyModule, Plan } from './module.js';

/** The task a finding belongs to, as the runner knows it. */
export interface TaskRef {
  name: string;
  module: string;
  role?: string;
}

/** Lines and characters a fallback finding quotes from a plan's text, so a finding stays a line. */
const MAX_LINES = 4;
const MAX_LINE = 160;

function clip(lines: string[]): string | null {
  if (!lines.length) return null;
  const shown = lines.slice(0, MAX_LINES).map((l) => (l.length > MAX_LINE ? `${l.slice(0, MAX_LINE - 1)}…` : l));
  if (lines.length > MAX_LINES) shown.push(`(${lines.length - MAX_LINES} more)`);
  return shown.join('; ');
}

/**
 * For a module that does not describe its changes: the lines of the plan's before text that the
 * after text does not have, and the reverse, as one `state` field of the task.
 */
export function genericDrift(plan: Pick<Plan<unknown>, 'before' | 'after'>): FieldDrift[] {
  const before = plan.before.split('\n').map((l) => l.trim()).filter(Boolean);
  const after = plan.after.split('\n').map((l) => l.trim()).filter(Boolean);
  const gone = clip(before.filter((l) => !after.includes(l)));
  const added = clip(after.filter((l) => !before.includes(l)));
  const text = gone && added ? `${gone}, want ${added}` : added ? `missing: ${added}` : gone ? `present, want it gone: ${gone}` : 'differs';
  return [{ field: 'state', before: gone, after: added, text }];
}

function withTask(task: TaskRef, fields: FieldDrift[]): Finding[] {
  return fields.map((f) => ({ ...(task.role ? { role: task.role } : {}), task: task.name, module: task.module, ...f }));
}

/**
 * The findings of one task checked in check mode: none when its plan is empty, else what its
 * module's `describe` says (the plan's text when it has none, or when it describes nothing, so
 * a planned change is never silent).
 */
export function findingsOf(task: TaskRef, module: AnyModule | undefined, args: unknown, observed: unknown, plan: Plan<unknown>): Finding[] {
  if (!plan.changes.length) return [];
  // A describe that has no word for some change (a kind added later) must not make a finding without a field.
  const described = (module?.describe?.(args, observed, plan) ?? []).filter((f): f is FieldDrift => !!f?.field && !!f.text);
  return withTask(task, described.length ? described : genericDrift(plan));
}

/** A task that cannot even be checked (its device is gone, its arguments are bad) is a finding too. */
export function failureFinding(task: TaskRef, message: string): Finding {
  return withTask(task, [{ field: 'check', before: message, after: null, text: `cannot check: ${message}` }])[0];
}
