import { CtlError, type ErrorWhere } from '../common/errors.js';
import { DriftPolicySchema, type DesiredSlot, type DriftPolicy } from '../common/desired-state.js';
import { renderString, type Vars } from './template.js';

/** The inventory (or role default, or -e) variable that says what drift on a host's role does. */
export const DRIFT_POLICY_VAR = 'lvs_drift_policy';

/** What a run declares for one role slot of a host: its desired state once the run applied it. */
export type PlannedSlot = Pick<DesiredSlot, 'slot' | 'roles' | 'policy' | 'tasks'>;

/**
 * `lvs_drift_policy` as rendered for one role on one host (role defaults < inventory < play vars
 * < -e, like every variable): `report` when unset. Anything else refuses the run, naming where
 * it was set.
 */
export function driftPolicyOf(vars: Vars, origin?: (variable: string) => ErrorWhere | undefined): DriftPolicy {
  const raw = vars[DRIFT_POLICY_VAR];
  if (raw === undefined || raw === null) return 'report';
  const where = origin?.(DRIFT_POLICY_VAR) ?? { field: DRIFT_POLICY_VAR };
  let value: unknown = raw;
  if (typeof raw === 'string' && raw.includes('{{')) {
    try {
      value = renderString(raw, vars);
    } catch (e) {
      throw new CtlError('CTL_ERR_TEMPLATE', (e as Error).message, where);
    }
  }
  const r = DriftPolicySchema.safeParse(typeof value === 'string' ? value.trim() : value);
  if (!r.success) throw new CtlError('CTL_ERR_DRIFT_POLICY', `must be report or fix, got ${JSON.stringify(value)}`, { ...where, field: where.field ?? DRIFT_POLICY_VAR });
  return r.data;
}
