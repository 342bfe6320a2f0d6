import { z } from 'zod';
import { FindingSchema } from './findings.js';

/**
 * The live health view's snapshot: what the controller pushes to the page over socket.io (and
 * answers at GET /api/view), and what /metrics is computed from. Plain data, no markup.
 */

/** unresponsive: connected, but heartbeats missed (Puppet's word); offline: no connection. */
export const AgentStateSchema = z.enum(['online', 'unresponsive', 'offline', 'revoked']);
export type AgentState = z.infer<typeof AgentStateSchema>;

/** Puppet's report labels: a run an operator asked for, or one that repaired drift. */
export const RunLabelSchema = z.enum(['intentional', 'corrective']);
export type RunLabel = z.infer<typeof RunLabelSchema>;

export const RunStatusSchema = z.enum(['running', 'ok', 'changed', 'failed', 'unreachable', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const ViewFindingSchema = FindingSchema.pick({ role: true, task: true, field: true, before: true, after: true, text: true })
  .extend({ firstSeen: z.string() })
  .strict();

export const ViewRunSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    status: RunStatusSchema,
    label: RunLabelSchema,
    check: z.boolean(),
    finishedAt: z.string().nullable(),
  })
  .strict();
export type ViewRun = z.infer<typeof ViewRunSchema>;

export const ViewAgentSchema = z
  .object({
    name: z.string(),
    state: AgentStateSchema,
    heartbeatAgeMs: z.number().nonnegative().nullable(),
    address: z.string().optional(),
    os: z.object({ distro: z.string(), release: z.string(), kernel: z.string() }).strict().optional(),
    load1: z.number().optional(),
    /** Bytes. */
    memory: z.object({ free: z.number(), total: z.number() }).strict().optional(),
    uptimeS: z.number().optional(),
    roles: z.array(z.string()),
    findings: z.array(ViewFindingSchema),
    lastRun: ViewRunSchema.optional(),
  })
  .strict();
export type ViewAgent = z.infer<typeof ViewAgentSchema>;

export const HealthStateSchema = z.enum(['up', 'down', 'unknown']);
export type HealthState = z.infer<typeof HealthStateSchema>;

export const ViewRealServerSchema = z
  .object({
    /** `172.25.7.3:80`, as ipvsadm names it. */
    address: z.string(),
    /** The inventory host, when the address is one. */
    host: z.string().optional(),
    forwarding: z.enum(['nat', 'tun', 'dr']).optional(),
    weight: z.object({ declared: z.number().int(), live: z.number().int().nullable() }).strict(),
    health: z
      .object({
        state: HealthStateSchema,
        /** Why it is down: "HTTP 503", "connect refused", "timeout 1 s", "exit 2". */
        reason: z.string().optional(),
        lastCheck: z.string().optional(),
        checkMs: z.number().optional(),
        since: z.string().optional(),
      })
      .strict(),
    drained: z.boolean(),
    activeConn: z.number().nullable(),
    inactConn: z.number().nullable(),
    /** Connections per second (`ipvsadm -Ln --rate`, CPS). */
    connRate: z.number().nullable(),
  })
  .strict();
export type ViewRealServer = z.infer<typeof ViewRealServerSchema>;

export const ViewServiceSchema = z
  .object({
    /** `tcp:172.25.7.200:80`. */
    key: z.string(),
    /** `TCP 172.25.7.200:80`. */
    label: z.string(),
    scheduler: z.string(),
    connRate: z.number().nullable(),
    /** Quorum lost: the sorry server is serving. */
    sorry: z.boolean().optional(),
    realServers: z.array(ViewRealServerSchema),
  })
  .strict();
export type ViewService = z.infer<typeof ViewServiceSchema>;

export const ViewDirectorSchema = z.object({ host: z.string(), services: z.array(ViewServiceSchema) }).strict();
export type ViewDirector = z.infer<typeof ViewDirectorSchema>;

export const ViewEventKindSchema = z.enum(['run', 'drift-found', 'drift-resolved', 'health', 'enrollment', 'refusal', 'agent']);

export const ViewEventSchema = z
  .object({
    at: z.string(),
    kind: ViewEventKindSchema,
    host: z.string().optional(),
    text: z.string(),
    level: z.enum(['info', 'warn', 'error']),
  })
  .strict();
export type ViewEvent = z.infer<typeof ViewEventSchema>;

export const ViewSnapshotSchema = z
  .object({
    generatedAt: z.string(),
    agents: z.array(ViewAgentSchema),
    directors: z.array(ViewDirectorSchema),
    /** Newest first. */
    events: z.array(ViewEventSchema),
  })
  .strict();
export type ViewSnapshot = z.infer<typeof ViewSnapshotSchema>;
