import type { HostFacts } from '../../common/protocol.js';
import type { PlannedRun } from '../plan-run.js';
import type { ClusterRole } from '../role-meta.js';
import type { PlannedTask } from '../roles.js';

export interface ClusterIssue {
  host: string;
  /** The variable to look at, as the operator would set it. */
  field: string;
  message: string;
}

/** A check that could not be made: a whole rule (no facts at all), or a rule for one host. */
export interface SkippedCheck {
  rule: string;
  host?: string;
  reason: string;
}

/**
 * What a rule reads: the plan across hosts as the modules parsed it and the roles say it is,
 * never raw arguments or role names.
 */
export interface ClusterView {
  /** Hosts with tasks in the plan. */
  hosts: string[];
  addressOf(host: string): string | undefined;
  /** The inventory host whose address this is. */
  hostAt(address: string): string | undefined;
  /** The tasks that run on a host (a false `when` left out), optionally of one module. */
  tasks(host: string, module?: string): PlannedTask[];
  /** The roles applied to a host that say what they are in the cluster (`meta.yml: cluster`). */
  clusterRoles(host: string): { role: string; cluster: ClusterRole }[];
}

export interface RuleContext {
  view: ClusterView;
  issue(host: string, field: string, message: string): void;
  /** A host's facts; when unknown the rule is reported skipped for that host. */
  facts(host: string): HostFacts | undefined;
  /** The rule cannot judge this host (for a reason other than missing facts). */
  skip(host: string, reason: string): void;
}

export interface Rule {
  /** As the operator reads it in `skipped: NAME (...)`. */
  name: string;
  /** Reads hosts' facts: with no facts at all (offline lint) the rule does not run. */
  needsFacts?: boolean;
  check(ctx: RuleContext): void;
}

export interface CheckResult {
  issues: ClusterIssue[];
  skipped: SkippedCheck[];
}

export function clusterView(planned: Pick<PlannedRun, 'inventory' | 'tasks' | 'roles'>): ClusterView {
  const hosts = [...planned.inventory.hosts.values()];
  const byAddress = new Map(hosts.map((h) => [h.address, h.name]));
  return {
    hosts: Object.keys(planned.tasks),
    addressOf: (host) => planned.inventory.hosts.get(host)?.address,
    hostAt: (address) => byAddress.get(address),
    tasks: (host, module) => (planned.tasks[host] ?? []).filter((t) => !t.task.skip && (module === undefined || t.task.module === module)),
    clusterRoles: (host) => (planned.roles[host] ?? []).flatMap((r) => (r.cluster ? [{ role: r.name, cluster: r.cluster }] : [])),
  };
}

/**
 * Runs every rule over the plan. `facts` undefined means no facts source at all (lint without a
 * controller): the rules that need facts are reported skipped instead of run.
 */
export function runRules(rules: readonly Rule[], planned: Pick<PlannedRun, 'inventory' | 'tasks' | 'roles'>, facts?: (host: string) => HostFacts | undefined): CheckResult {
  const view = clusterView(planned);
  const issues: ClusterIssue[] = [];
  const skipped: SkippedCheck[] = [];
  for (const rule of rules) {
    if (rule.needsFacts && !facts) {
      skipped.push({ rule: rule.name, reason: 'no facts' });
      continue;
    }
    const skip = (host: string, reason: string) => {
      if (!skipped.some((s) => s.rule === rule.name && s.host === host)) skipped.push({ rule: rule.name, host, reason });
    };
    rule.check({
      view,
      issue: (host, field, message) => issues.push({ host, field, message }),
      facts: (host) => {
        const f = facts?.(host);
        if (!f) skip(host, 'no facts: its agent has not connected');
        return f;
      },
      skip,
    });
  }
  return { issues, skipped };
}
