import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { RenderedTask } from '../common/protocol.js';
import { syncDir } from './durable-file.js';
import type { HostRunStatus, RecordedResult, RunMeta, RunRecord, RunStatus } from './run-record.js';

/** What a run planned for a host, without arguments (they can be large and are not shown later). */
export interface PlannedTaskName {
  name: string;
  module: string;
  role?: string;
}

/**
 * One line of a run's journal (`runs/ID.ndjson`), appended as the run goes: a task result never
 * rewrites the store. `start` holds the run and each host's task list once (hosts with the same
 * list share one entry of `plans`); the index in store.json can be rebuilt from it.
 */
export type JournalLine =
  | { t: 'start'; run: RunMeta; plans: PlannedTaskName[][]; hosts: Record<string, number> }
  | { t: 'host'; host: string; status?: HostRunStatus; error?: string; ms?: number }
  | { t: 'result'; host: string; result: RecordedResult }
  | { t: 'end'; finishedAt: string; status: RunStatus };

const hostStatus = z.enum(['pending', 'running', 'done', 'unreachable']);
const runStatus = z.enum(['running', 'done', 'interrupted', 'cancelled']);
const lineSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('start'), run: z.looseObject({ id: z.string(), createdAt: z.string(), status: runStatus }), plans: z.array(z.array(z.looseObject({ name: z.string(), module: z.string() }))), hosts: z.record(z.string(), z.number().int().min(0)) }),
  z.object({ t: z.literal('host'), host: z.string(), status: hostStatus.optional(), error: z.string().optional(), ms: z.number().optional() }),
  z.object({ t: z.literal('result'), host: z.string(), result: z.looseObject({ index: z.number().int(), name: z.string(), module: z.string(), status: z.enum(['ok', 'changed', 'failed', 'skipped']), ms: z.number() }) }),
  z.object({ t: z.literal('end'), finishedAt: z.string(), status: runStatus }),
]);

/** The `start` line for a run: each distinct task list once. */
export function startLine(run: RunMeta, tasks: Record<string, RenderedTask[]>): JournalLine {
  const plans: PlannedTaskName[][] = [];
  const byKey = new Map<string, number>();
  const hosts: Record<string, number> = {};
  for (const [host, list] of Object.entries(tasks)) {
    const plan = list.map((t) => ({ name: t.name, module: t.module, ...(t.role ? { role: t.role } : {}) }));
    const key = JSON.stringify(plan);
    let i = byKey.get(key);
    if (i === undefined) byKey.set(key, (i = plans.push(plan) - 1));
    hosts[host] = i;
  }
  return { t: 'start', run, plans, hosts };
}

type Handlers = { [K in JournalLine['t']]: (run: RunRecord, line: Extract<JournalLine, { t: K }>) => void };

const apply: Omit<Handlers, 'start'> = {
  host: (run, { host, t: _t, ...patch }) => {
    const h = run.hosts[host];
    if (h) Object.assign(h, patch);
  },
  result: (run, { host, result }) => {
    const h = run.hosts[host];
    // A result journalled twice (a retried write) counts once.
    if (h && !h.results.some((r) => r.index === result.index)) h.results.push(result);
  },
  end: (run, { finishedAt, status }) => Object.assign(run, { finishedAt, status }),
};

/**
 * A run as its journal tells it. A line that does not parse (the last one, torn by a crash, or
 * one cut by a failed write) is skipped; without a readable `start` line there is no run.
 */
export function assemble(text: string): { run?: RunRecord; skipped: number; plans?: PlannedTaskName[][] } {
  let run: RunRecord | undefined;
  let plans: PlannedTaskName[][] | undefined;
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let parsed;
    try {
      parsed = lineSchema.safeParse(JSON.parse(raw));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      skipped++;
      continue;
    }
    const line = parsed.data as JournalLine;
    if (line.t === 'start') {
      if (run) continue;
      plans = line.plans;
      const hosts = Object.fromEntries(Object.entries(line.hosts).map(([h, i]) => [h, { status: 'pending' as const, tasks: line.plans[i]?.length ?? 0, results: [] }]));
      run = { ...line.run, hosts };
    } else if (run) (apply[line.t] as (r: RunRecord, l: JournalLine) => void)(run, line);
    else skipped++;
  }
  for (const h of Object.values(run?.hosts ?? {})) h.results.sort((a, b) => a.index - b.index);
  return { run, skipped, plans };
}

export async function readJournal(file: string): Promise<ReturnType<typeof assemble> | undefined> {
  try {
    return assemble(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Appends lines to one run's journal. Lines are buffered and written together (a burst of
 * results is one write); a failed write keeps them and is retried by the next flush. A write
 * that failed part-way may leave half a line, so the next one starts on a new line.
 */
export class JournalWriter {
  private buf: string[] = [];
  private fh: FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();
  private torn = false;
  private timer: NodeJS.Timeout | undefined;
  private dirSyncPending = false;

  constructor(
    readonly file: string,
    private readonly flushMs: number,
    /** Called after every write attempt: the error, or undefined when it succeeded. */
    private readonly report: (err: unknown) => void,
  ) {}

  get pending(): number {
    return this.buf.length;
  }

  append(line: JournalLine): void {
    this.buf.push(JSON.stringify(line));
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  /** Writes what is buffered; never rejects (errors go to `report`). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.chain = this.chain.then(() => this.write());
    return this.chain;
  }

  private async write(): Promise<void> {
    const n = this.buf.length;
    if (!n) return;
    try {
      this.fh ??= await open(this.file, 'a', 0o600);
      await this.fh.appendFile((this.torn ? '\n' : '') + this.buf.slice(0, n).join('\n') + '\n');
      this.buf.splice(0, n);
      this.torn = false;
      this.report(undefined);
    } catch (e) {
      this.torn = this.fh !== undefined;
      this.report(e);
    }
  }

  /** Flushes, fsyncs and closes; false when lines are still unwritten (the caller retries). */
  async close(): Promise<boolean> {
    await this.flush();
    if (this.buf.length) return false;
    try {
      if (this.fh) {
        await this.fh.sync();
        await this.fh.close();
        this.fh = undefined;
        this.dirSyncPending = true;
      }
      // The new file's name is durable only once its folder is synced.
      if (this.dirSyncPending) {
        await syncDir(path.dirname(this.file));
        this.dirSyncPending = false;
      }
      this.report(undefined);
      return true;
    } catch (e) {
      this.report(e);
      return false;
    }
  }
}
