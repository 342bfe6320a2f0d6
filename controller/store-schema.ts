import path from 'node:path';
import { z } from 'zod';
import { CtlError } from '../common/errors.js';
import type { HostFacts, RenderedTask, TaskResult } from '../common/protocol.js';
import { DesiredStateSchema, type DesiredState } from '../common/desired-state.js';
import { ViewRunSchema, type ViewRun } from '../common/view.js';
import { LedgerStateSchema, type LedgerState } from './findings.js';
import type { HealthEvent } from '../common/health-api.js';
import { startLine, type JournalLine } from './run-journal.js';
import { summarize, type HostRunStatus, type RunIndexEntry, type RunRecord } from './run-record.js';

export const STORE_VERSION = 2;

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

export interface StoreData {
  version: typeof STORE_VERSION;
  agents: Record<string, AgentRecord>;
  /** The run index, oldest first; each run's results are in its journal. */
  runs: RunIndexEntry[];
  /** host -> role slot -> what that slot's roles own there after the last applied run. */
  ledger: Record<string, Record<string, LedgerEntry[]>>;
  /** host -> its held desired state (the drift watch checks it); see controller/desired-state.ts. */
  desired?: Record<string, DesiredState>;
  /** The drift findings ledger (controller/findings.ts): open findings and resolved history. */
  findings?: LedgerState;
  /** host -> the last run it took part in, as the health view shows it. */
  lastRuns?: Record<string, ViewRun>;
  /** Real-server health (controller/health-records.ts): drained hosts and the directors' transitions. */
  health?: HealthData;
}

export interface HealthData {
  /** host -> the addresses drained for it (`ctl drain`), until `ctl undrain`. */
  drained: Record<string, { addresses: string[]; at: string }>;
  /** Health transitions as the directors reported them, oldest first, bounded. */
  events: HealthEvent[];
}

/** A run id names its journal file, so it must be a plain file name. */
export const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

const count = z.number().int().min(0);
const hostStatus = z.enum(['pending', 'running', 'done', 'unreachable']);
const runMeta = {
  id: z.string().regex(RUN_ID, 'must be letters, digits, - or _'),
  title: z.string(),
  kind: z.enum(['role', 'playbook', 'drift', 'tasks']),
  origin: z.enum(['operator', 'schedule']),
  check: z.boolean(),
  diff: z.boolean(),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  status: z.enum(['running', 'done', 'interrupted', 'cancelled']),
  label: z.enum(['intentional', 'corrective']).optional(),
  stopped: z.object({ code: z.enum(['CTL_ERR_RUN_CANCELLED', 'CTL_ERR_WAIT_TIMEOUT', 'CTL_ERR_CONTROLLER_LOST']), message: z.string() }).optional(),
};

// Loose objects: fields another version adds pass through instead of being dropped on write.
const schemaV2 = z.looseObject({
  version: z.literal(STORE_VERSION),
  agents: z.record(z.string(), z.looseObject({ name: z.string(), facts: z.looseObject({}).optional(), firstSeen: z.string(), lastSeen: z.string(), address: z.string().optional() })),
  runs: z.array(
    z.looseObject({ ...runMeta, hosts: count, totals: z.object({ ok: count, changed: count, failed: count, skipped: count, unreachable: count }) }),
  ),
  ledger: z.record(z.string(), z.record(z.string(), z.array(z.looseObject({ id: z.string(), module: z.string(), retire: z.record(z.string(), z.unknown()) })))),
  desired: z.record(z.string(), DesiredStateSchema).optional(),
  findings: LedgerStateSchema.optional(),
  lastRuns: z.record(z.string(), ViewRunSchema).optional(),
  health: z
    .looseObject({
      drained: z.record(z.string(), z.looseObject({ addresses: z.array(z.string()), at: z.string() })),
      events: z.array(z.looseObject({ host: z.string(), receivedAt: z.string(), kind: z.enum(['realserver', 'quorum', 'sorry', 'drain']), service: z.string(), at: z.number() })),
    })
    .optional(),
});

/** Version 1 kept whole runs, tasks and results included, in store.json. */
const schemaV1 = z.looseObject({
  version: z.literal(1),
  agents: schemaV2.shape.agents,
  ledger: schemaV2.shape.ledger,
  runs: z.array(
    z.looseObject({
      ...runMeta,
      origin: runMeta.origin.optional(),
      status: runMeta.status.optional(),
      hosts: z.record(z.string(), z.looseObject({ status: hostStatus, tasks: z.array(z.looseObject({ name: z.string(), module: z.string() })), results: z.array(z.looseObject({ index: z.number(), status: z.enum(['ok', 'changed', 'failed', 'skipped']) })), error: z.string().optional(), ms: z.number().optional() })),
    }),
  ),
});

function fail(file: string, detail: string, field?: string, line?: number): CtlError {
  return new CtlError('CTL_ERR_STORE', `${detail}; fix or move the file away (it is never reset)`, { file, ...(line ? { line } : {}), ...(field ? { field } : {}) });
}

function issuePath(p: PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || '(top level)';
}

/** The first problem, a value that is there but wrong before one that is missing: that tells most. */
function refuse(file: string, err: z.ZodError): CtlError {
  const missing = (i: z.core.$ZodIssue) => /received undefined$/.test(i.message);
  const [i, ...more] = [...err.issues.filter((x) => !missing(x)), ...err.issues.filter(missing)];
  const rest = more.length ? ` (and ${more.length} more problem${more.length > 1 ? 's' : ''})` : '';
  return fail(file, i!.message.replace(/^Invalid input: /, '') + rest, issuePath(i!.path));
}

/** What a store file's text holds, checked: anything else is refused with the path in it. */
export function parseStore(text: string, file: string): { data: StoreData; journals: Map<string, JournalLine[]> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg)?.[1];
    const end = /end of JSON input/.test(msg);
    const line = pos ? text.slice(0, Number(pos)).split('\n').length : end ? text.split('\n').length : undefined;
    // V8 quotes the whole input in some messages; the file is named already.
    const why = msg.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
    throw fail(file, `not valid JSON, ${text.trim() ? 'truncated or corrupt' : 'empty'} (${why})`, undefined, line);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw fail(file, `expected an object with a version, got ${raw === null ? 'null' : Array.isArray(raw) ? 'a list' : typeof raw}`, '(top level)');
  }
  const version = (raw as { version?: unknown }).version;
  if (version === STORE_VERSION) {
    const r = schemaV2.safeParse(raw);
    if (!r.success) throw refuse(file, r.error);
    return { data: r.data as unknown as StoreData, journals: new Map() };
  }
  if (version === 1) {
    const r = schemaV1.safeParse(raw);
    if (!r.success) throw refuse(file, r.error);
    return migrateV1(r.data as unknown as V1);
  }
  if (typeof version === 'number' && version > STORE_VERSION) {
    throw fail(file, `version ${version} is newer than this controller knows (up to ${STORE_VERSION}); use the newer controller`, 'version');
  }
  if (version === undefined) {
    // No version: say first what else is wrong with it, as that is what tells a stray file.
    const r = schemaV2.safeParse({ ...raw, version: STORE_VERSION });
    if (!r.success) throw refuse(file, r.error);
    throw fail(file, `missing (known: 1, ${STORE_VERSION})`, 'version');
  }
  throw fail(file, `unknown store version ${JSON.stringify(version)} (known: 1, ${STORE_VERSION})`, 'version');
}

interface V1 {
  agents: StoreData['agents'];
  ledger: StoreData['ledger'];
  runs: (Omit<RunRecord, 'hosts' | 'origin' | 'status'> & { hosts: Record<string, { status: HostRunStatus; tasks: RenderedTask[]; results: TaskResult[]; error?: string; ms?: number }> })[];
}

/** Version 1 to 2: each run's results move to a journal of its own; the index keeps counts. */
function migrateV1(v1: V1): { data: StoreData; journals: Map<string, JournalLine[]> } {
  const journals = new Map<string, JournalLine[]>();
  const runs: RunIndexEntry[] = [];
  for (const old of v1.runs) {
    const origin = old.title.startsWith('schedule ') ? 'schedule' : 'operator';
    const status = old.finishedAt ? 'done' : 'interrupted';
    const meta = { id: old.id, title: old.title, kind: old.kind, origin, check: old.check, diff: old.diff, createdAt: old.createdAt, status, ...(old.finishedAt ? { finishedAt: old.finishedAt } : {}) } as const;
    const lines: JournalLine[] = [startLine({ ...meta, status: old.finishedAt ? 'running' : status }, Object.fromEntries(Object.entries(old.hosts).map(([h, x]) => [h, x.tasks])))];
    for (const [host, h] of Object.entries(old.hosts)) {
      for (const result of h.results) lines.push({ t: 'result', host, result });
      lines.push({ t: 'host', host, status: h.status, ...(h.error ? { error: h.error } : {}), ...(h.ms !== undefined ? { ms: h.ms } : {}) });
    }
    if (old.finishedAt) lines.push({ t: 'end', finishedAt: old.finishedAt, status });
    journals.set(old.id, lines);
    const hosts = Object.fromEntries(Object.entries(old.hosts).map(([h, x]) => [h, { ...x, tasks: x.tasks.length }]));
    runs.push(summarize({ ...meta, hosts }));
  }
  return { data: { version: STORE_VERSION, agents: v1.agents, ledger: v1.ledger, runs }, journals };
}

export function journalFile(dataDir: string, id: string): string {
  return path.join(dataDir, 'runs', `${id}.ndjson`);
}
