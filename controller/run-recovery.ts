import { z } from 'zod';
import { silentLogger, type Logger } from '../common/log.js';
import { TaskResultSchema } from '../common/api.js';
import type { AgentHub } from './hub.js';
import { jobOffset } from './job-id.js';
import type { RunRecord, RunStopped, Store } from './store.js';

const STOPPED: RunStopped = {
  code: 'CTL_ERR_CONTROLLER_LOST',
  message: 'the controller stopped while the run was going; what each host did is taken from its agent\'s job journal when it reconnects',
};

/** What an agent answers about a run's jobs; anything else is ignored (an agent is not trusted to be right). */
const answerSchema = z.array(
  z.object({
    job: z.string(),
    state: z.enum(['queued', 'running', 'ended', 'not-started']),
    results: z.array(TaskResultSchema),
    error: z.string().optional(),
    ms: z.number().optional(),
  }),
);
/** One job as the agent's journal tells it (common/protocol.ts JobRecord, the fields used here). */
type AgentJob = z.infer<typeof answerSchema>[number];

export interface RecoveryOptions {
  log?: Logger;
  /** While an agent still runs a job of the run, how often it is asked again (default 1 s). */
  pollMs?: number;
  /** How long an agent has to answer (default 10 s). */
  askMs?: number;
}

/**
 * Runs the controller lost track of. On start, every run left `running` is marked `interrupted`
 * (the controller stopped during it); each host that had a job out is then asked, when its
 * agent connects, for its journal of the run's jobs, and the record is completed with what the
 * host did: each result it lacks (`recovered: true`), the host's end and error. Hosts whose
 * jobs were never sent stay as they were, with the reason.
 */
export class RunRecovery {
  /** host -> runs still waiting for that host's journal. */
  private readonly awaiting = new Map<string, Set<string>>();
  private chain: Promise<void> = Promise.resolve();
  private readonly polls = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly o: RecoveryOptions = {},
  ) {}

  private get log(): Logger {
    return this.o.log ?? silentLogger;
  }

  /** Marks the runs found running; resolves once their index says `interrupted`. */
  async start(): Promise<void> {
    for (const entry of this.store.runs().filter((r) => r.status === 'running')) {
      const run = await this.store.resumeRun(entry.id);
      if (!run) continue;
      const waitFor: string[] = [];
      for (const [host, h] of Object.entries(run.hosts)) {
        if (h.status === 'running') waitFor.push(host);
        else if (h.status === 'pending') this.store.updateHost(run, host, { error: 'not run: the controller stopped before this host\'s tasks were sent' });
      }
      run.stopped = STOPPED;
      this.store.endRun(run, 'interrupted');
      for (const host of waitFor) this.awaiting.set(host, (this.awaiting.get(host) ?? new Set()).add(run.id));
      this.log.warn({ run: run.id, title: run.title, awaiting: waitFor }, 'run interrupted by a controller stop; completing it from the agents\' journals');
    }
    this.hub.onConnect((host) => this.connected(host));
    for (const host of this.awaiting.keys()) if (this.hub.isOnline(host)) this.connected(host);
  }

  /** Runs still waiting for a host's journal. */
  pending(): Record<string, string[]> {
    return Object.fromEntries([...this.awaiting].map(([h, runs]) => [h, [...runs]]));
  }

  /** Resolves when every recovery started so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  close(): void {
    this.closed = true;
    for (const t of this.polls) clearTimeout(t);
    this.polls.clear();
  }

  private connected(host: string): void {
    for (const run of this.awaiting.get(host) ?? []) this.enqueue(host, run);
  }

  /** One recovery at a time: each takes a run up, appends to it and ends it again. */
  private enqueue(host: string, run: string): void {
    this.chain = this.chain.then(() => this.recover(host, run)).catch((e: Error) => this.log.error({ run, host, err: e.message }, 'run recovery failed'));
  }

  private async recover(host: string, runId: string): Promise<void> {
    if (this.closed || !this.awaiting.get(host)?.has(runId) || !this.hub.isOnline(host)) return;
    let jobs: AgentJob[];
    try {
      const answer = answerSchema.safeParse(await this.hub.journal(host, runId, this.o.askMs));
      if (!answer.success) throw new Error(`answer does not parse: ${answer.error.issues[0]?.message}`);
      jobs = answer.data;
    } catch (e) {
      // Tried again when the agent next connects.
      this.log.warn({ run: runId, host, err: (e as Error).message }, 'agent did not give its job journal');
      return;
    }
    // The last recovery's lines must be on disk before the run is read back from its journal.
    await this.store.flush();
    const run = await this.store.resumeRun(runId);
    if (!run?.hosts[host]) return this.done(host, runId);
    const added = this.record(run, host, jobs);
    const going = jobs.some((j) => j.state === 'queued' || j.state === 'running');
    if (!going) this.finish(run, host, jobs);
    // While the agent works on with nothing new, the run stays taken up: no end line per poll.
    if (added || !going) {
      this.store.endRun(run, 'interrupted');
      this.log.info({ run: runId, host, recovered: added, ...(going ? { stillRunning: true } : {}) }, 'run completed from the agent\'s journal');
    }
    if (!going) return this.done(host, runId);
    const t = setTimeout(() => {
      this.polls.delete(t);
      this.enqueue(host, runId);
    }, this.o.pollMs ?? 1000);
    this.polls.add(t);
  }

  /** The results the record lacks, marked recovered; how many. */
  private record(run: RunRecord, host: string, jobs: AgentJob[]): number {
    const h = run.hosts[host];
    let added = 0;
    for (const j of jobs) {
      const base = jobOffset(run.id, j.job);
      if (base === undefined) continue;
      for (const r of j.results) {
        const index = base + r.index;
        if (index >= h.tasks || h.results.some((x) => x.index === index)) continue;
        this.store.addResult(run, host, { ...r, index, recovered: true });
        added++;
      }
    }
    h.results.sort((a, b) => a.index - b.index);
    return added;
  }

  /** Every job of the run ended on the agent: the host's end, as the agent tells it. */
  private finish(run: RunRecord, host: string, jobs: AgentJob[]): void {
    const h = run.hosts[host];
    const mine = jobs.filter((j) => jobOffset(run.id, j.job) !== undefined);
    if (!mine.length) {
      this.store.updateHost(run, host, { status: 'unreachable', error: 'interrupted: the agent has no record of this run\'s jobs' });
      return;
    }
    const errors = mine.flatMap((j) => (j.error ? [j.error] : []));
    const unsent = h.tasks - h.results.length;
    if (unsent > 0) errors.push(`interrupted: ${unsent} of ${h.tasks} tasks were never sent (the controller stopped)`);
    const ms = mine.reduce((n, j) => n + (j.ms ?? 0), 0);
    this.store.updateHost(run, host, { status: 'done', ms, ...(errors.length ? { error: errors.join('; ') } : {}) });
  }

  private done(host: string, run: string): void {
    const runs = this.awaiting.get(host);
    runs?.delete(run);
    if (runs && !runs.size) this.awaiting.delete(host);
  }
}
