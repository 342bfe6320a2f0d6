import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readJournal } from './run-journal.js';
import { summarize, type RunIndexEntry, type RunOrigin } from './run-record.js';
import type { StoreLog } from './store-health.js';
import { RUN_ID } from './store-schema.js';

export interface HistoryBounds {
  /** Operator runs kept (`--keep-runs`). */
  keepRuns: number;
  /** Scheduled runs kept, counted apart so drift checks never push operator runs out. */
  keepScheduled: number;
  /** Runs older than this are dropped whatever their number (`--keep-days`). */
  keepDays: number;
}

/**
 * Which runs of the index stay: per origin the newest `keep*` that are younger than `keepDays`.
 * A run still going is always kept and counted.
 */
export function pruneHistory(runs: RunIndexEntry[], bounds: HistoryBounds, now: number): { keep: RunIndexEntry[]; drop: string[] } {
  const oldest = now - bounds.keepDays * 86_400_000;
  const max: Record<RunOrigin, number> = { operator: bounds.keepRuns, schedule: bounds.keepScheduled };
  const seen: Record<RunOrigin, number> = { operator: 0, schedule: 0 };
  const dropped = new Set<string>();
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i]!;
    const n = ++seen[r.origin];
    if (r.status === 'running') continue;
    if (n > max[r.origin] || Date.parse(r.createdAt) < oldest) dropped.add(r.id);
  }
  return { keep: dropped.size ? runs.filter((r) => !dropped.has(r.id)) : runs, drop: [...dropped] };
}

/**
 * Index entries for journals the index does not list: the controller stopped after a run began
 * and before the index was written. Each is rebuilt from its journal's start line on.
 */
export async function indexOrphans(dataDir: string, known: Set<string>, log: StoreLog): Promise<RunIndexEntry[]> {
  const dir = path.join(dataDir, 'runs');
  const out: RunIndexEntry[] = [];
  for (const f of await readdir(dir)) {
    const id = f.slice(0, -'.ndjson'.length);
    if (!f.endsWith('.ndjson') || known.has(id) || !RUN_ID.test(id)) continue;
    const j = await readJournal(path.join(dir, f));
    if (j?.run) out.push(summarize(j.run));
    else log.error({ journal: f }, 'run journal without a readable start line; left as it is');
  }
  return out;
}
