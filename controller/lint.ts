import { CtlError } from '../common/errors.js';
import type { HostFacts } from '../common/protocol.js';
import type { PlannedRun } from './plan-run.js';
import { runRules, type CheckResult, type ClusterIssue } from './cluster-check/driver.js';
import { LVS_RULES } from './cluster-check/lvs-rules.js';

export type LintIssue = ClusterIssue;
export type { CheckResult, SkippedCheck } from './cluster-check/driver.js';

type Planned = Pick<PlannedRun, 'inventory' | 'tasks' | 'roles'>;

/**
 * The cluster check over a plan. Without a facts source (`ctl lint` with no controller) the
 * checks that need facts are reported skipped.
 */
export function checkCluster(planned: Planned, facts?: (host: string) => HostFacts | undefined): CheckResult {
  return runRules(LVS_RULES, planned, facts);
}

/** Checks that need a host's tasks are made only for hosts in the plan. */
export function lintCluster(planned: Planned, facts: (host: string) => HostFacts | undefined): LintIssue[] {
  return checkCluster(planned, facts).issues;
}

export function lintLine(i: LintIssue): string {
  return `${i.host}: ${i.field}: ${i.message}`;
}

/** Refuses a planned run that fails the cluster check, naming the first problem. */
export function assertClusterWorks(planned: Planned, facts: (host: string) => HostFacts | undefined): void {
  const issues = lintCluster(planned, facts);
  if (!issues.length) return;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ctl lint shows all)` : '';
  throw new CtlError('CTL_ERR_CLUSTER_LINT', `cluster check refused the run: ${lintLine(issues[0])}${more}`);
}
