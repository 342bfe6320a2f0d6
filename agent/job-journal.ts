import { readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writePrivateFileAtomic } from '../common/private-file.js';
import type { Logger } from '../common/log.js';
import type { JobRecord, RunJob, TaskResult } from '../common/protocol.js';

export const JOB_JOURNAL_FILE = 'jobs.json';
const VERSION = 1;

const resultSchema = z.looseObject({ index: z.number().int().min(0), name: z.string(), module: z.string(), status: z.enum(['ok', 'changed', 'failed', 'skipped']), ms: z.number() });
const fileSchema = z.object({
  version: z.literal(VERSION),
  jobs: z.array(
    z.looseObject({
      job: z.string(),
      run: z.string(),
      receivedAt: z.string(),
      state: z.enum(['queued', 'running', 'ended', 'not-started']),
      tasks: z.number().int().min(0),
      results: z.array(resultSchema),
      error: z.string().optional(),
      ms: z.number().optional(),
    }),
  ),
});

export interface JobJournalOptions {
  /** The agent's state folder; without one the journal lives in memory only. */
  stateDir?: string;
  log: Logger;
  /** How many of the newest jobs are kept (default 200). */
  keep?: number;
  /** The wall clock, for `receivedAt` (people read it; nothing is decided by it). */
  now?: () => Date;
  /** How the file is written (tests inject a failing one). */
  write?: (file: string, text: string) => Promise<void>;
}

/**
 * The agent's own record of its recent jobs (`jobs.json` in its state folder): each job's id and
 * run, its results as they come and whether it ended. It is what a restarted controller asks
 * for to complete the record of a run it lost track of, and what keeps a job id from running
 * twice. Bounded by count; written whole through a rename, writes coalesced, and a write
 * error is logged and retried with the next change (the journal goes on in memory).
 */
export class JobJournal {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly file: string | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastError: string | undefined;

  constructor(private readonly o: JobJournalOptions) {
    this.file = o.stateDir ? path.join(o.stateDir, JOB_JOURNAL_FILE) : undefined;
    if (this.file) this.load(this.file);
  }

  get(job: string): JobRecord | undefined {
    return this.jobs.get(job);
  }

  /** The run's jobs, oldest first. */
  forRun(run: string): JobRecord[] {
    return [...this.jobs.values()].filter((j) => j.run === run).map((j) => ({ ...j, results: [...j.results] }));
  }

  /** A job that came: `queued` until it starts. */
  add(job: Pick<RunJob, 'runId' | 'run' | 'tasks'>, state: JobRecord['state'] = 'queued', error?: string): JobRecord {
    const rec: JobRecord = { job: job.runId, run: job.run ?? job.runId, receivedAt: (this.o.now ?? (() => new Date()))().toISOString(), state, tasks: job.tasks.length, results: [], ...(error ? { error } : {}) };
    this.jobs.delete(rec.job);
    this.jobs.set(rec.job, rec);
    const keep = this.o.keep ?? 200;
    for (const id of this.jobs.keys()) {
      if (this.jobs.size <= keep) break;
      this.jobs.delete(id);
    }
    this.changed();
    return rec;
  }

  update(job: string, patch: Partial<Pick<JobRecord, 'state' | 'error' | 'ms'>>): void {
    const rec = this.jobs.get(job);
    if (!rec) return;
    Object.assign(rec, patch);
    this.changed();
  }

  addResult(job: string, result: TaskResult): void {
    const rec = this.jobs.get(job);
    if (!rec) return;
    rec.results.push(result);
    this.changed();
  }

  /** Resolves once what was recorded so far was written (or failed to be; see the log). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private changed(): void {
    this.dirty = true;
    if (!this.file || this.writing) return;
    this.writing = this.writeLoop(this.file).finally(() => (this.writing = undefined));
  }

  /** One write at a time; what changed meanwhile goes in the next one. */
  private async writeLoop(file: string): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const text = JSON.stringify({ version: VERSION, jobs: [...this.jobs.values()] });
      try {
        await (this.o.write ?? writePrivateFileAtomic)(file, text + '\n');
        if (this.lastError) this.o.log.info({ file }, 'job journal written again');
        this.lastError = undefined;
      } catch (e) {
        const msg = (e as Error).message;
        if (msg !== this.lastError) this.o.log.error({ file, err: msg }, 'cannot write the job journal; it is kept in memory and written with the next change');
        this.lastError = msg;
        return;
      }
    }
  }

  /**
   * Jobs that were queued or running when the agent stopped did not end, and will not: they are
   * recorded as such, so the controller learns the truth and the ids are never run again.
   */
  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log.error({ file, err: (e as Error).message }, 'cannot read the job journal; starting a new one');
      return;
    }
    let parsed;
    try {
      parsed = fileSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      const aside = `${file}.bad-${Date.now()}`;
      try {
        renameSync(file, aside);
      } catch {
        // left where it is: the next write replaces it
      }
      this.o.log.error({ file, keptAs: aside, err: parsed ? parsed.error.issues[0]?.message : 'not JSON' }, 'job journal does not parse; kept aside, starting a new one');
      return;
    }
    for (const j of parsed.data.jobs as JobRecord[]) {
      if (j.state === 'running') Object.assign(j, { state: 'ended', error: 'the agent stopped during this job' });
      else if (j.state === 'queued') Object.assign(j, { state: 'not-started', error: 'the agent stopped before this job started' });
      this.jobs.set(j.job, j);
    }
  }
}
