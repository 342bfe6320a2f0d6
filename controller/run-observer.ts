import type { ViewRun } from '../common/view.js';
import type { ControllerEvents } from './events.js';
import type { ControllerMetrics, RunEndStatus } from './metrics.js';
import { hostRecap, runLabel, type HostRun, type RunRecord } from './run-record.js';
import type { RunManager } from './run-manager.js';
import type { Store } from './store.js';

/** A host's outcome in a run, in the view's words. */
export function hostOutcome(h: Pick<HostRun, 'status' | 'results'>): RunEndStatus {
  const r = hostRecap(h);
  if (r.failed) return 'failed';
  if (r.unreachable) return 'unreachable';
  return r.changed ? 'changed' : 'ok';
}

/** A run's outcome over its hosts: a failure first, then an unreachable host, then changes. */
export function runOutcome(run: RunRecord): RunEndStatus {
  const all = Object.values(run.hosts).map(hostOutcome);
  for (const s of ['failed', 'unreachable', 'changed'] as const) if (all.includes(s)) return s;
  return 'ok';
}

function viewRun(run: RunRecord, status: ViewRun['status']): ViewRun {
  return { id: run.id, title: run.title, status, label: runLabel(run), check: run.check, finishedAt: run.finishedAt ?? null };
}

/**
 * Follows runs for the view and /metrics: each host's last run (kept in the store, so the view
 * shows it after a restart), run events, the runs counter and the task duration histogram.
 */
export function observeRuns(runs: Pick<RunManager, 'watch'>, store: Store, events: ControllerEvents, metrics: ControllerMetrics, changed: () => void): () => void {
  const setLast = (run: RunRecord, status: (h: HostRun) => ViewRun['status']) => {
    const last = (store.data.lastRuns ??= {});
    for (const [host, h] of Object.entries(run.hosts)) last[host] = viewRun(run, status(h));
    store.touch();
    changed();
  };
  return runs.watch({
    started: (run) => {
      setLast(run, () => 'running');
      const label = runLabel(run);
      const hosts = Object.keys(run.hosts);
      events.push({ kind: 'run', level: label === 'corrective' ? 'warn' : 'info', ...(hosts.length === 1 ? { host: hosts[0] } : {}), text: `${label} run ${run.id} started: ${run.title}${run.check ? ' (check)' : ''} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}` });
    },
    result: (_run, _host, r) => metrics.observeTask({ module: r.module, status: r.status, ms: r.ms }),
    ended: (run) => {
      setLast(run, hostOutcome);
      const status = runOutcome(run);
      metrics.recordRun({ status, label: runLabel(run) });
      const hosts = Object.keys(run.hosts);
      const level = status === 'failed' || status === 'unreachable' ? 'error' : 'info';
      events.push({ kind: 'run', level, ...(hosts.length === 1 ? { host: hosts[0] } : {}), text: `${runLabel(run)} run ${run.id} ${status}: ${run.title}${run.check ? ' (check)' : ''}` });
    },
  });
}
