import path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { HostFacts, RenderedTask, TaskResult } from '../common/protocol.js';
import { CtlError } from '../common/errors.js';
import { ensurePrivateDir } from '../common/private-file.js';

export type HostRunStatus = 'pending' | 'running' | 'done' | 'unreachable';

export interface HostRun {
  status: HostRunStatus;
  tasks: RenderedTask[];
  results: TaskResult[];
  error?: string;
  ms?: number;
}

export interface RunRecord {
  id: string;
  title: string;
  kind: 'role' | 'playbook' | 'drift' | 'tasks';
  check: boolean;
  diff: boolean;
  createdAt: string;
  finishedAt?: string;
  hosts: Record<string, HostRun>;
}

export interface AgentRecord {
  name: string;
  facts?: HostFacts;
  firstSeen: string;
  lastSeen: string;
  address?: string;
}

/** Something a role slot put on a host, and how to take it away (see TaskModule.owns). */
export interface LedgerEntry {
  id: string;
  module: string;
  retire: Record<string, unknown>;
}

interface Data {
  version: 1;
  agents: Record<string, AgentRecord>;
  runs: RunRecord[];
  /** host -> role slot -> what that slot's roles own there after the last applied run. */
  ledger: Record<string, Record<string, LedgerEntry[]>>;
}

export interface StoreOptions {
  /** Runs kept; older ones are dropped when a new one is added. */
  maxRuns?: number;
  /** Coalesces writes that arrive within this window into one. */
  flushMs?: number;
}

/**
 * lowdb over one JSON file (steno writes a temp file and renames it, so a crash never leaves a
 * torn file). Writes are coalesced: hot events mark the store dirty, one flush writes it.
 */
export class Store {
  private readonly db: Low<Data>;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  readonly maxRuns: number;
  private readonly flushMs: number;

  private constructor(db: Low<Data>, opts: StoreOptions) {
    this.db = db;
    this.maxRuns = opts.maxRuns ?? 200;
    this.flushMs = opts.flushMs ?? 200;
  }

  static async open(dataDir: string, opts: StoreOptions = {}): Promise<Store> {
    // Runs, facts and diffs are the managed hosts' configuration: the owner's only.
    ensurePrivateDir(dataDir);
    const file = path.join(dataDir, 'store.json');
    const db = new Low<Data>(new JSONFile<Data>(file), { version: 1, agents: {}, runs: [], ledger: {} });
    try {
      await db.read();
    } catch (e) {
      throw new CtlError('CTL_ERR_STORE', `cannot read ${file}: ${(e as Error).message}`, { file });
    }
    db.data.agents ??= {};
    db.data.runs ??= [];
    db.data.ledger ??= {};
    return new Store(db, opts);
  }

  get data(): Data {
    return this.db.data;
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

  addRun(run: RunRecord): void {
    this.db.data.runs.push(run);
    if (this.db.data.runs.length > this.maxRuns) this.db.data.runs.splice(0, this.db.data.runs.length - this.maxRuns);
    this.touch();
  }

  run(id: string): RunRecord | undefined {
    return this.db.data.runs.find((r) => r.id === id || r.id.startsWith(id));
  }

  ledger(host: string, slot: string): LedgerEntry[] {
    return this.db.data.ledger[host]?.[slot] ?? [];
  }

  setLedger(host: string, slot: string, entries: LedgerEntry[]): void {
    (this.db.data.ledger[host] ??= {})[slot] = entries;
    this.touch();
  }

  /** Marks the data changed; one write follows within flushMs. */
  touch(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.db.write()).catch(() => undefined);
    }, this.flushMs);
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.writing = this.writing.then(() => this.db.write());
    }
    await this.writing;
  }
}
