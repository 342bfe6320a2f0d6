import { z } from 'zod';
import type { Diff, Health, HostFacts, RenderedTask, TaskResult } from './protocol.js';
import { AgentStateSchema, RunLabelSchema } from './view.js';

/**
 * The controller's HTTP API, defined once: a zod schema for every request part and response of
 * every route, and for each line of the run event stream. The fastify routes validate requests
 * with them (controller/zod-schemas.ts: a bad request is a 400 naming the field) and declare
 * them as their response type; `ctl` parses every response with them (cli/client.ts).
 *
 * Adding a route: its schemas in a section of their own below (`XxxSchema` plus the inferred
 * type `Xxx`), the route in controller/routes/ with `schema: { body, params, querystring,
 * response: { 200: XxxSchema } }`, and the command calling `client.get(path, XxxSchema)`.
 *
 * Objects are `z.object` (unknown fields are dropped when ctl parses a response: a field the
 * schema does not name does not exist for ctl), request bodies `z.strictObject` (an unknown
 * field is refused, as a misspelt option would be).
 */

const count = z.number().int().nonnegative();
const isoTime = z.string();
/** A duration in seconds, as the command line takes it: positive, at most a week. */
const seconds = z.number().positive().max(7 * 86_400);

// ---- Shared pieces: task results and recaps (common/protocol.ts holds the agent's side) ----

export const DiffSchema = z.object({ before: z.string(), after: z.string() });

export const TaskResultSchema = z.object({
  index: count,
  name: z.string(),
  module: z.string(),
  role: z.string().optional(),
  status: z.enum(['ok', 'changed', 'failed', 'skipped']),
  msg: z.string().optional(),
  diff: DiffSchema.optional(),
  ms: z.number(),
});

export const RenderedTaskSchema = z.object({
  name: z.string(),
  module: z.string(),
  args: z.record(z.string(), z.unknown()),
  skip: z.string().optional(),
  role: z.string().optional(),
  timeoutMs: z.number().optional(),
});

export const RecapSchema = z.object({ ok: count, changed: count, failed: count, skipped: count, unreachable: count });
export type Recap = z.infer<typeof RecapSchema>;

/** host -> recap */
export const RecapByHostSchema = z.record(z.string(), RecapSchema);

/** Every error the API answers with (status >= 400): a coded CtlError (common/errors.ts). */
export const ApiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    where: z.object({ file: z.string().optional(), line: z.number().optional(), field: z.string().optional() }).optional(),
  }),
});

// ---- GET /api/health (no token) ----

/** 503 with `ok: false` while the store cannot be written (new runs are refused then). */
export const HealthResponseSchema = z.object({
  ok: z.boolean(),
  store: z.object({ writable: z.boolean(), error: z.string().optional(), since: isoTime.optional() }).optional(),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

// ---- GET /api/agents ----

export const HealthSchema = z.object({ uptime: z.number(), load1: z.number(), memFree: z.number(), memTotal: z.number(), busy: count });

/**
 * Facts are what the agent sent (common/protocol.ts `HostFacts`, owned by the agent); the
 * controller passes them through as they are, so only their being an object is checked here.
 */
export const FactsSchema = z.custom<HostFacts>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: 'expected the facts object of an agent' });

export const AgentViewSchema = z.object({
  name: z.string(),
  online: z.boolean(),
  address: z.string().optional(),
  lastHeartbeat: isoTime.nullable(),
  heartbeatAgeMs: z.number().nullable(),
  health: HealthSchema.optional(),
  facts: FactsSchema.optional(),
});
export type AgentView = z.infer<typeof AgentViewSchema>;
export const AgentListSchema = z.array(AgentViewSchema);

// ---- DELETE /api/agents/:name ----

export const AgentNameParamsSchema = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be an agent name (letters, digits, _ . -)') });
export const AgentForgetResponseSchema = z.object({ forgotten: z.string(), ledgerSlots: count });

// ---- GET /api/schedules ----

export const ScheduleStateSchema = z.object({
  name: z.string(),
  cron: z.string(),
  playbook: z.string(),
  inventory: z.array(z.string()),
  hosts: z.string().optional(),
  /** Drift check (check mode) or an enforcing run. */
  check: z.boolean(),
  /** Seconds (`task_timeout`, `job_timeout` in schedules.yml). */
  taskTimeout: z.number().optional(),
  jobTimeout: z.number().optional(),
  nextRun: isoTime.nullable(),
  lastRunId: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type ScheduleStateView = z.infer<typeof ScheduleStateSchema>;
export const ScheduleListSchema = z.array(ScheduleStateSchema);

// ---- POST /api/runs, POST /api/lint: the run request ----

/**
 * A file of a request: a path inside the controller's project folder, or a file `ctl` read on
 * the operator's machine and sent by content (`name` only labels it in messages).
 */
export const SourceFileSchema = z.union([z.string(), z.strictObject({ name: z.string(), content: z.string() })]);
export type SourceFile = z.infer<typeof SourceFileSchema>;

export const RunRequestSchema = z.strictObject({
  kind: z.enum(['role', 'playbook']),
  role: z.string().optional(),
  playbook: SourceFileSchema.optional(),
  /** For a role: the hosts to run on; for a playbook: a limit on every play's hosts. */
  hosts: z.string().optional(),
  /** One inventory or several (`-i a -i b`): later files win where they overlap. */
  inventory: z.union([SourceFileSchema, z.array(SourceFileSchema).min(1)]),
  extraVars: z.record(z.string(), z.unknown()).optional(),
  check: z.boolean().optional(),
  diff: z.boolean().optional(),
  /** Seconds a task may take unless its role file sets `timeout:` (`--task-timeout`). */
  taskTimeout: seconds.optional(),
  /** Seconds a host may take for one play's tasks before it is given up (`--job-timeout`). */
  jobTimeout: seconds.optional(),
  /** Seconds the run may wait for hosts busy with other runs (`--wait-timeout`). */
  waitTimeout: seconds.optional(),
  /** false: refused at once when a host is busy with another run (`--no-wait`). */
  wait: z.boolean().optional(),
});
export type RunRequest = z.infer<typeof RunRequestSchema>;

/** 201 to POST /api/runs */
export const RunStartedSchema = z.object({ id: z.string(), title: z.string(), hosts: z.array(z.string()) });
export type RunStarted = z.infer<typeof RunStartedSchema>;

/** 200 to POST /api/lint: the cluster check alone, nothing pushed. */
export const LintResponseSchema = z.object({
  issues: z.array(z.object({ host: z.string(), field: z.string(), message: z.string() })),
  hosts: z.array(z.string()),
  tasks: count,
});
export type LintResponse = z.infer<typeof LintResponseSchema>;

// ---- GET /api/runs, GET /api/runs/:id ----

export const RunKindSchema = z.enum(['role', 'playbook', 'drift', 'tasks']);

/** Who asked for a run: history keeps scheduled runs apart so they cannot push operator runs out. */
export const RunOriginSchema = z.enum(['operator', 'schedule']);
/**
 * `interrupted`: the controller stopped while the run was going (its results completed from the
 * agents' journals, marked `recovered`); `cancelled`: `ctl runs cancel`, or `--wait-timeout`.
 */
export const RunStatusSchema = z.enum(['running', 'done', 'interrupted', 'cancelled']);
/** `intentional`: an operator (or a schedule) asked for it; `corrective`: the drift policy `fix` started it. */
export { RunLabelSchema };

/** Why a run stopped short: the coded error `ctl` exits with for it. */
export const RunStoppedSchema = z.object({ code: z.enum(['CTL_ERR_RUN_CANCELLED', 'CTL_ERR_WAIT_TIMEOUT', 'CTL_ERR_CONTROLLER_LOST']), message: z.string() });

/** What every run is, in the list and in full. */
const runMeta = {
  id: z.string(),
  title: z.string(),
  kind: RunKindSchema,
  origin: RunOriginSchema,
  status: RunStatusSchema,
  /** Absent from runs recorded before labels existed: they were all intentional. */
  label: RunLabelSchema.default('intentional'),
  stopped: RunStoppedSchema.optional(),
  check: z.boolean(),
  createdAt: isoTime,
};

export const RunSummarySchema = z.object({
  ...runMeta,
  finishedAt: isoTime.nullable(),
  /** How many hosts the run has. */
  hosts: count,
  /** Task counts over all hosts; `unreachable` counts hosts. */
  totals: RecapSchema,
});
export type RunSummary = z.infer<typeof RunSummarySchema>;
export const RunListSchema = z.array(RunSummarySchema);

export const HostRunStatusSchema = z.enum(['pending', 'running', 'done', 'unreachable']);

export const HostRunSchema = z.object({
  status: HostRunStatusSchema,
  /** How many tasks the run planned for this host. */
  tasks: count,
  /** `recovered`: learnt after the fact from the agent's own journal. */
  results: z.array(TaskResultSchema.extend({ recovered: z.boolean().optional() })),
  error: z.string().optional(),
  ms: z.number().optional(),
});

export const RunRecordSchema = z.object({
  ...runMeta,
  diff: z.boolean(),
  finishedAt: isoTime.optional(),
  hosts: z.record(z.string(), HostRunSchema),
});

export const RunDetailSchema = RunRecordSchema.extend({ recap: RecapByHostSchema });
export type RunDetail = z.infer<typeof RunDetailSchema>;

export const RunIdParamsSchema = z.object({ id: z.string().min(1) });

// ---- POST /api/runs/:id/cancel ----

/** `now`: the running tasks' processes are killed instead of stopping at the next task boundary. */
export const RunCancelRequestSchema = z.strictObject({ now: z.boolean().optional() });
/** 202: the run is stopping; its events (and `ctl`) show when it has ended. */
export const RunCancelResponseSchema = z.object({ id: z.string(), cancelling: z.literal(true) });

// ---- GET /api/runs/:id/events: NDJSON, one event per line ----

/**
 * What already happened first, then live events; `end` carries the finished run and `recap`
 * is always the last line.
 */
export const RunStreamEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('result'), host: z.string(), result: TaskResultSchema }),
  z.object({ type: z.literal('host'), host: z.string(), status: HostRunStatusSchema, error: z.string().optional() }),
  /** The run waits for a host that another run holds (or waits for) first. */
  z.object({ type: z.literal('waiting'), host: z.string(), run: z.string() }),
  z.object({ type: z.literal('end'), run: RunRecordSchema }),
  z.object({ type: z.literal('recap'), recap: RecapByHostSchema }),
]);
export type RunStreamEvent = z.infer<typeof RunStreamEventSchema>;
/** A line as the controller writes it (fields with a default may be left out). */
export type RunStreamLine = z.input<typeof RunStreamEventSchema>;

// ---- GET /api/findings, GET /api/findings/history: drift findings ----

/** A drift finding on a host with its times (controller/findings.ts keeps them). */
export const HostFindingSchema = z.object({
  host: z.string(),
  role: z.string().optional(),
  task: z.string(),
  module: z.string(),
  /** What differs; names the object, never its value. */
  field: z.string(),
  /** What the host has (null: absent). */
  before: z.string().nullable(),
  /** What the task wants (null: absent). */
  after: z.string().nullable(),
  text: z.string(),
  firstSeen: isoTime,
  lastSeen: isoTime,
  resolvedAt: isoTime.optional(),
});
export type HostFindingView = z.infer<typeof HostFindingSchema>;

export const FindingsQuerySchema = z.object({
  /** One host (an agent name). */
  host: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be an agent name (letters, digits, _ . -)').optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** Per host with a held desired state: whether its watch can be trusted to be current. */
export const WatchedHostSchema = z.object({
  host: z.string(),
  state: AgentStateSchema,
  /** Revision of the held desired state; its slots. */
  revision: count,
  slots: z.array(z.string()),
  /** When its agent last reported a check of this revision (null: not since the controller started). */
  reportedAt: isoTime.nullable(),
});

export const OpenFindingsSchema = z.object({ findings: z.array(HostFindingSchema), hosts: z.array(WatchedHostSchema) });
export type OpenFindings = z.infer<typeof OpenFindingsSchema>;
export const FindingHistorySchema = z.array(HostFindingSchema);

// ---- The trust routes: enrollment, certificates, API tokens, login ----

export * from './api-trust.js';

// ---- Compile-time: the schemas above that mirror the agent protocol describe exactly its types ----

type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type ApiMirrorsProtocol = [
  Holds<Exactly<z.infer<typeof DiffSchema>, Diff>>,
  Holds<Exactly<z.infer<typeof TaskResultSchema>, TaskResult>>,
  Holds<Exactly<z.infer<typeof RenderedTaskSchema>, RenderedTask>>,
  Holds<Exactly<z.infer<typeof HealthSchema>, Health>>,
];

// ---- Real-server health: /api/status, /api/events, /api/drain (common/health-api.ts) ----

export * from './health-api.js';
