import { chmod, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { CtlError } from '../common/errors.js';
import { DurableFile, type TextFileAdapter } from './durable-file.js';
import { pruneHistory, type HistoryBounds } from './run-history.js';
import { JournalWriter, readJournal, startLine } from './run-journal.js';
import { summarize, type HostRun, type RecordedResult, type RunIndexEntry, type RunRecord } from './run-record.js';
import { stderrLog, WriteHealth, type StoreHealth, type StoreLog } from './store-health.js';
import { loadStoreData } from './store-load.js';
import { journalFile, RUN_ID, type AgentRecord, type LedgerEntry, type StoreData } from './store-schema.js';
import type { RenderedTask } from '../common/protocol.js';

export type { AgentRecord, LedgerEntry } from './store-schema.js';
export type { HostRun, HostRunStatus, RunRecord, RunIndexEntry, RunStatus, RunOrigin, RunStopped } from './run-record.js';
export type { StoreHealth, StoreLog } from './store-health.js';

export interface StoreOptions extends Partial<HistoryBounds> {
  /** Coalesces writes that arrive within this window into one. */
  flushMs?: number;
  /** After a failed write, how often writing is tried again (also on every change). */
  retryMs?: number;
  log?: StoreLog;
  /** How store.json is read and written (tests inject a failing one). */
  adapter?: (file: string) => TextFileAdapter;
}

/**
 * The controller's data folder (0700): `store.json` (lowdb: agents, slot ledger, run index),
 * checked against its schema on load and never reset, and one append-only journal per run
 * (`runs/ID.ndjson`) for task results. A failed write is logged, shown by `health()`, retried,
 * and refuses new runs (`assertWritable`) until a write succeeds again.
 */
export class Store {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly live = new Map<string, { run: RunRecord; journal: JournalWriter }>();
  /** Journals of ended runs whose last lines could not be written yet. */
  private readonly closing = new Set<JournalWriter>();
  private readonly writes: WriteHealth;
  readonly bounds: HistoryBounds;

  private constructor(
    private readonly db: Low<StoreData>,
    readonly dataDir: string,
    private readonly opts: StoreOptions,
  ) {
    this.writes = new WriteHealth(this.log, () => void this.flush(), opts.retryMs ?? 5000);
    this.bounds = { keepRuns: opts.keepRuns ?? 200, keepScheduled: opts.keepScheduled ?? 200, keepDays: opts.keepDays ?? 30 };
  }

  static async open(dataDir: string, opts: StoreOptions = {}): Promise<Store> {
    try {
      await mkdir(path.join(dataDir, 'runs'), { recursive: true, mode: 0o700 });
      await chmod(dataDir, 0o700);
    } catch (e) {
      throw new CtlError('CTL_ERR_STORE', `cannot create the data folder: ${(e as Error).message}`, { file: dataDir });
    }
    const file = (opts.adapter ?? ((f) => new DurableFile(f)))(path.join(dataDir, 'store.json'));
    const log = opts.log ?? stderrLog;
    const { data, changed } = await loadStoreData(dataDir, file, log);
    const db = new Low<StoreData>({ read: async () => null, write: (d) => file.writeText(JSON.stringify(d)) }, data);
    const store = new Store(db, dataDir, opts);
    store.dirty = changed;
    store.prune();
    if (store.dirty) await store.flush();
    return store;
  }

  get data(): StoreData {
    return this.db.data;
  }

  health(): StoreHealth {
    return this.writes.get();
  }

  /** Refuses to start work whose record could not be kept. */
  assertWritable(): void {
    const h = this.health();
    if (!h.writable) throw new CtlError('CTL_ERR_STORE_UNWRITABLE', `${h.error} (since ${h.since}); new runs are refused until the store can be written`);
  }

  agent(name: string): AgentRecord | undefined {
    return this.db.data.agents[name];
  }

  upsertAgent(name: string, patch: Partial<AgentRecord>): AgentRecord {
    const now = new Date().toISOString();
    const rec = (this.db.data.agents[name] ??= { name, firstSeen: now, lastSeen: now });
    Object.assign(rec, patch);
    this.touch();
    return rec;
  }

  /** Drops an agent's record and its slot ledger; false when there was neither. */
  forgetAgent(name: string): { agent: boolean; ledgerSlots: number } {
    const agent = name in this.db.data.agents;
    const ledgerSlots = Object.keys(this.db.data.ledger[name] ?? {}).length;
    delete this.db.data.agents[name];
    delete this.db.data.ledger[name];
    if (agent || ledgerSlots) this.touch();
    return { agent, ledgerSlots };
  }

  ledger(host: string, slot: string): LedgerEntry[] {
    return this.db.data.ledger[host]?.[slot] ?? [];
  }

  setLedger(host: string, slot: string, entries: LedgerEntry[]): void {
    (this.db.data.ledger[host] ??= {})[slot] = entries;
    this.touch();
  }

  private journal(id: string): JournalWriter {
    return new JournalWriter(journalFile(this.dataDir, id), this.opts.flushMs ?? 200, (e) => this.writes.report(`runs/${id}.ndjson`, e));
  }

  /** A new run: indexed, its journal started with each host's task list; history pruned. */
  beginRun(run: RunRecord, tasks: Record<string, RenderedTask[]>): void {
    if (!RUN_ID.test(run.id)) throw new CtlError('CTL_ERR_INTERNAL', `run id '${run.id}' cannot name a journal`);
    const journal = this.journal(run.id);
    const { hosts: _h, ...meta } = run;
    journal.append(startLine(meta, tasks));
    this.live.set(run.id, { run, journal });
    this.db.data.runs.push(summarize(run));
    this.prune();
    this.touch();
  }

  /**
   * An ended or abandoned run taken up again (a run left `running` by a controller that
   * stopped): live once more, so `addResult` (with `recovered: true`), `updateHost` and
   * `endRun(run, 'interrupted')` append to its journal and update its index entry.
   */
  async resumeRun(id: string): Promise<RunRecord | undefined> {
    const run = await this.run(id);
    if (!run || this.live.has(run.id)) return run;
    this.live.set(run.id, { run, journal: this.journal(run.id) });
    return run;
  }

  addResult(run: RunRecord, host: string, result: RecordedResult): void {
    run.hosts[host].results.push(result);
    this.live.get(run.id)?.journal.append({ t: 'result', host, result });
  }

  updateHost(run: RunRecord, host: string, patch: Partial<Pick<HostRun, 'status' | 'error' | 'ms'>>): void {
    Object.assign(run.hosts[host], patch);
    this.live.get(run.id)?.journal.append({ t: 'host', host, ...patch });
  }

  /** The run's end: its summary replaces the index entry, the journal is closed. */
  endRun(run: RunRecord, status: RunRecord['status'] = 'done'): void {
    run.status = status;
    run.finishedAt = new Date().toISOString();
    const entry = this.live.get(run.id);
    this.live.delete(run.id);
    const i = this.db.data.runs.findIndex((r) => r.id === run.id);
    if (i >= 0) this.db.data.runs[i] = summarize(run);
    this.touch();
    if (!entry) return;
    entry.journal.append({ t: 'end', finishedAt: run.finishedAt, status });
    this.closing.add(entry.journal);
    void this.closeJournals();
  }

  /** The index, newest first; runs still going show their live state. */
  runs(): RunIndexEntry[] {
    return this.db.data.runs
      .map((r) => {
        const live = this.live.get(r.id);
        return live ? summarize(live.run) : r;
      })
      .reverse();
  }

  /** A whole run by id or unique id prefix: live, or assembled from index and journal. */
  async run(id: string): Promise<RunRecord | undefined> {
    const entry = this.db.data.runs.find((r) => r.id === id) ?? this.db.data.runs.find((r) => r.id.startsWith(id));
    if (!entry) return undefined;
    const live = this.live.get(entry.id);
    if (live) return live.run;
    const j = await readJournal(journalFile(this.dataDir, entry.id)).catch((e: Error) => {
      throw new CtlError('CTL_ERR_STORE', `cannot read the journal of run ${entry.id}: ${e.message}`, { field: 'id' });
    });
    const { hosts: _n, totals: _t, ...meta } = entry;
    if (!j?.run) {
      this.log.error({ run: entry.id }, 'run journal missing or unreadable; showing the index only');
    } else if (j.skipped) {
      this.log.error({ run: entry.id, skipped: j.skipped }, 'run journal has lines that do not parse; they are left out');
    }
    // The index has the last word on the run's own state; the journal on each host's.
    return { ...meta, hosts: j?.run?.hosts ?? {} };
  }

  /** Marks the index changed; one write follows within flushMs. */
  touch(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.opts.flushMs ?? 200);
  }

  /** Writes what is pending now: the index and every journal. Never rejects; see health(). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([this.write(), ...[...this.live.values()].map((l) => l.journal.flush()), this.closeJournals()]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.writes.stop();
  }

  private get log(): StoreLog {
    return this.opts.log ?? stderrLog;
  }

  private write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.db.write();
        this.writes.report('store.json', undefined);
      } catch (e) {
        this.dirty = true;
        this.writes.report('store.json', e);
      }
    });
    return this.writing;
  }

  private async closeJournals(): Promise<void> {
    for (const j of [...this.closing]) if (await j.close()) this.closing.delete(j);
  }

  private prune(): void {
    const { keep, drop } = pruneHistory(this.db.data.runs, this.bounds, Date.now());
    if (!drop.length) return;
    this.db.data.runs = keep;
    this.dirty = true;
    for (const id of drop) {
      // A journal left behind is indexed again at the next start and pruned then.
      unlink(journalFile(this.dataDir, id)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') this.log.error({ run: id, err: e.message }, 'cannot remove an old run journal');
      });
    }
  }
}
