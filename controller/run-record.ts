import type { Recap } from '../common/api.js';
import type { ErrorCode } from '../common/errors.js';
import type { TaskResult, TaskStatus } from '../common/protocol.js';

export type HostRunStatus = 'pending' | 'running' | 'done' | 'unreachable';

/**
 * `interrupted`: the controller stopped while the run was going; whoever finds such a run on
 * start marks it so (and may complete it from the agents' own journals). `cancelled`: stopped
 * by `ctl runs cancel`, or never started because its hosts stayed busy past `--wait-timeout`.
 */
export type RunStatus = 'running' | 'done' | 'interrupted' | 'cancelled';

/** Why a run stopped short, as the coded error `ctl` exits with for it. */
export interface RunStopped {
  code: Extract<ErrorCode, 'CTL_ERR_RUN_CANCELLED' | 'CTL_ERR_WAIT_TIMEOUT' | 'CTL_ERR_CONTROLLER_LOST'>;
  message: string;
}

/** Who asked for the run: history keeps scheduled runs apart so they cannot push operator runs out. */
export type RunOrigin = 'operator' | 'schedule';

/** Puppet's words: a run someone asked for, or one the drift policy started to repair drift. */
export type RunLabel = 'intentional' | 'corrective';

export type { Recap };

/** A task's result as a run records it; `recovered` when it was learnt after the fact from the agent. */
export type RecordedResult = TaskResult & { recovered?: boolean };

/** One host of a run, as `GET /api/runs/:id` shows it (assembled from index and journal). */
export interface HostRun {
  status: HostRunStatus;
  /** How many tasks the run planned for this host. */
  tasks: number;
  results: RecordedResult[];
  error?: string;
  ms?: number;
}

export interface RunMeta {
  id: string;
  title: string;
  kind: 'role' | 'playbook' | 'drift' | 'tasks';
  origin: RunOrigin;
  check: boolean;
  diff: boolean;
  createdAt: string;
  finishedAt?: string;
  status: RunStatus;
  /** Absent in runs recorded before labels existed: those were all intentional. */
  label?: RunLabel;
  stopped?: RunStopped;
}

export interface RunRecord extends RunMeta {
  hosts: Record<string, HostRun>;
}

/**
 * A run in the store's index: what it was and its totals. Per-host state and results are in
 * the run's journal, so the index (rewritten on every store write) does not grow with the fleet.
 */
export interface RunIndexEntry extends RunMeta {
  /** How many hosts the run has. */
  hosts: number;
  /** Task counts over all hosts; `unreachable` counts hosts. */
  totals: Recap;
}

export function runLabel(r: Pick<RunMeta, 'label'>): RunLabel {
  return r.label ?? 'intentional';
}

/** A host's part of a run went through: every task reported and none failed. */
export function hostClean(h: Pick<HostRun, 'status' | 'error' | 'results' | 'tasks'>): boolean {
  return h.status === 'done' && !h.error && h.results.length === h.tasks && h.results.every((r) => r.status !== 'failed');
}

export function hostRecap(h: Pick<HostRun, 'status' | 'results'>): Recap {
  const r: Recap = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: h.status === 'unreachable' ? 1 : 0 };
  for (const t of h.results) r[t.status as TaskStatus]++;
  return r;
}

export function recap(run: RunRecord): Record<string, Recap> {
  return Object.fromEntries(Object.entries(run.hosts).map(([host, h]) => [host, hostRecap(h)]));
}

export function summarize(run: RunRecord): RunIndexEntry {
  const { hosts, ...meta } = run;
  const totals: Recap = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
  for (const h of Object.values(hosts)) {
    const r = hostRecap(h);
    for (const k of Object.keys(totals) as (keyof Recap)[]) totals[k] += r[k];
  }
  return { ...meta, hosts: Object.keys(hosts).length, totals };
}
