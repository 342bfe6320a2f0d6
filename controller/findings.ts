import { z } from 'zod';
import { CtlError } from '../common/errors.js';
import { FindingSchema, findingKey, type Finding } from '../common/findings.js';

/** A finding on a host with its times: open until a full check of the host no longer has it. */
export const HostFindingSchema = FindingSchema.extend({
  host: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  resolvedAt: z.string().optional(),
}).strict();
export type HostFinding = z.infer<typeof HostFindingSchema>;

export const LedgerStateSchema = z.object({ open: z.array(HostFindingSchema), history: z.array(HostFindingSchema) }).strict();
export type LedgerState = z.infer<typeof LedgerStateSchema>;

/** Where the ledger keeps its state (the controller's store); `load` once at start, `save` after changes. */
export interface FindingsPersistence {
  load(): unknown;
  save(state: LedgerState): void;
}

export type FindingEvent =
  | { kind: 'found'; finding: HostFinding }
  | { kind: 'changed'; finding: HostFinding; before: HostFinding }
  | { kind: 'resolved'; finding: HostFinding };

export interface ReportResult {
  found: HostFinding[];
  changed: HostFinding[];
  resolved: HostFinding[];
}

export interface LedgerOptions {
  persistence?: FindingsPersistence;
  /** Resolved findings kept, newest first. */
  historyLimit?: number;
  /**
   * A check that only confirms open findings moves their lastSeen; that alone is saved at most
   * this often, so a 5 s watch on every host does not rewrite the store every 5 s.
   */
  lastSeenSaveMs?: number;
}

const sameValues = (a: Finding, b: Finding) => a.before === b.before && a.after === b.after && a.text === b.text && a.module === b.module;

/**
 * Drift findings of every host, keyed by host, role, task and field. Each report is a full
 * check of one host: what it has is open, what it no longer has is resolved.
 */
export class FindingsLedger {
  private readonly openByKey = new Map<string, HostFinding>();
  private resolvedList: HostFinding[] = [];
  private readonly listeners = new Set<(e: FindingEvent) => void>();
  private readonly historyLimit: number;
  private readonly lastSeenSaveMs: number;
  private savedAt = -Infinity;

  constructor(private readonly opts: LedgerOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 1000;
    this.lastSeenSaveMs = opts.lastSeenSaveMs ?? 60_000;
    const raw = opts.persistence?.load();
    if (raw === undefined || raw === null) return;
    const parsed = LedgerStateSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CtlError('CTL_ERR_STORE', `drift findings: ${issue.message}`, { field: ['findings', ...issue.path].join('.') });
    }
    for (const f of parsed.data.open) this.openByKey.set(ledgerKey(f.host, f), f);
    this.resolvedList = parsed.data.history.slice(0, this.historyLimit);
  }

  /** Listens to found/changed/resolved; returns the function that stops listening. */
  onEvent(listener: (e: FindingEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a full check of `host` at `at`, and says what appeared, changed and went away. */
  report(host: string, findings: readonly Finding[], at: Date = new Date()): ReportResult {
    const now = at.toISOString();
    const result: ReportResult = { found: [], changed: [], resolved: [] };
    const seen = new Set<string>();
    const previous = new Map<HostFinding, HostFinding>();
    for (const f of findings) {
      const key = ledgerKey(host, f);
      if (seen.has(key)) continue;
      seen.add(key);
      const old = this.openByKey.get(key);
      const entry: HostFinding = { ...f, host, firstSeen: old?.firstSeen ?? now, lastSeen: now };
      this.openByKey.set(key, entry);
      if (!old) result.found.push(entry);
      else if (!sameValues(old, f)) {
        result.changed.push(entry);
        previous.set(entry, old);
      }
    }
    for (const [key, f] of this.openByKey) {
      if (f.host !== host || seen.has(key)) continue;
      this.openByKey.delete(key);
      const done = { ...f, resolvedAt: now };
      this.resolvedList.unshift(done);
      result.resolved.push(done);
    }
    this.resolvedList.length = Math.min(this.resolvedList.length, this.historyLimit);

    const structural = result.found.length + result.changed.length + result.resolved.length > 0;
    if (structural || (seen.size > 0 && at.getTime() - this.savedAt >= this.lastSeenSaveMs)) this.save(at);
    for (const finding of result.found) this.emit({ kind: 'found', finding });
    for (const finding of result.changed) this.emit({ kind: 'changed', finding, before: previous.get(finding)! });
    for (const finding of result.resolved) this.emit({ kind: 'resolved', finding });
    return result;
  }

  /** Open findings, of one host or all, oldest first. */
  open(host?: string): HostFinding[] {
    return [...this.openByKey.values()]
      .filter((f) => host === undefined || f.host === host)
      .map((f) => ({ ...f }))
      .sort((a, b) => a.host.localeCompare(b.host) || a.firstSeen.localeCompare(b.firstSeen));
  }

  /** Resolved findings, newest first, bounded by `limit` and the ledger's history limit. */
  history(opts: { host?: string; limit?: number } = {}): HostFinding[] {
    return this.historyOf(opts.host).slice(0, opts.limit ?? this.historyLimit);
  }

  /** Open findings per host; hosts with none are left out. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.openByKey.values()) out[f.host] = (out[f.host] ?? 0) + 1;
    return out;
  }

  private historyOf(host?: string): HostFinding[] {
    return host === undefined ? [...this.resolvedList] : this.resolvedList.filter((f) => f.host === host);
  }

  private save(at: Date): void {
    this.savedAt = at.getTime();
    this.opts.persistence?.save({ open: this.open(), history: [...this.resolvedList] });
  }

  private emit(e: FindingEvent): void {
    for (const l of this.listeners) l(e);
  }
}

function ledgerKey(host: string, f: Pick<Finding, 'role' | 'task' | 'field'>): string {
  return `${JSON.stringify(host)}${findingKey(f)}`;
}
