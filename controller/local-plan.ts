import type { HostFacts } from '../common/protocol.js';
import { checkCluster, type CheckResult } from './lint.js';
import { planRun, type RunRequest } from './plan-run.js';

export interface LocalLint extends CheckResult {
  hosts: string[];
  tasks: number;
}

/**
 * The one entry `ctl lint` loads from the controller's code (besides `controller start`): the
 * plan rendered here, from the project's files, every host of the inventory, nothing pushed.
 * `facts` is what a reachable controller knows of its agents; without it the checks that need
 * facts are reported skipped.
 */
export async function lintLocally(req: RunRequest, projectDir: string, facts?: (host: string) => HostFacts | undefined): Promise<LocalLint> {
  const planned = await planRun(req, {
    projectDir,
    ledger: () => [],
    facts: (h) => facts?.(h),
    online: () => false,
    renderOffline: true,
  });
  const tasks = planned.spec.plays.reduce((n, p) => n + Object.values(p.hosts).reduce((m, t) => m + t.length, 0), 0);
  return { ...checkCluster(planned, facts), hosts: Object.keys(planned.vars), tasks };
}
