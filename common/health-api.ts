import { z } from 'zod';

/**
 * Real-server health on the wire: what a director's agent sends (transitions, its snapshot and
 * the kernel's counters) and what the HTTP API answers (`ctl status`, `ctl events`, `ctl drain`).
 * The agent's own types (agent/health/) must stay assignable to these: protocol.ts types its
 * socket events with them, so a field the agent drops or renames fails to compile.
 */

const count = z.number().int().nonnegative();
const epochMs = z.number();
const rsState = z.enum(['up', 'down']);

// ---- Transitions (agent -> controller: `health:transition`) ----

export const HealthTransitionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('realserver'), service: z.string(), realServer: z.string(), from: rsState, to: rsState, reason: z.string(), at: epochMs, checkMs: z.number() }),
  z.object({
    kind: z.literal('quorum'),
    service: z.string(),
    from: z.enum(['held', 'lost']),
    to: z.enum(['held', 'lost']),
    reason: z.enum(['quorum lost', 'quorum regained']),
    at: epochMs,
    liveWeight: z.number(),
    quorum: z.number(),
    hysteresis: z.number(),
  }),
  z.object({ kind: z.literal('sorry'), service: z.string(), realServer: z.string(), from: z.enum(['in', 'out']), to: z.enum(['in', 'out']), reason: z.enum(['sorry server in', 'sorry server out']), at: epochMs }),
  z.object({ kind: z.literal('drain'), service: z.string(), realServer: z.string(), from: z.enum(['drained', 'serving']), to: z.enum(['drained', 'serving']), reason: z.enum(['drained', 'undrained']), at: epochMs }),
]);
export type HealthTransitionWire = z.infer<typeof HealthTransitionSchema>;

// ---- The checker's snapshot and the kernel's counters (reply to `health:snapshot`) ----

export const RealServerSnapshotSchema = z.object({
  service: z.string(),
  realServer: z.string(),
  declaredWeight: z.number(),
  /** The weight health gives it; null: out of the table. */
  weight: z.number().nullable(),
  state: rsState,
  drained: z.boolean(),
  sorry: z.boolean(),
  note: z.string(),
  check: z.enum(['http', 'tcp', 'exec', 'none']),
  reason: z.string().optional(),
  since: epochMs.optional(),
  lastCheckAt: epochMs.optional(),
  lastCheckMs: z.number().optional(),
  lastResult: z.string().optional(),
  okStreak: count,
  failStreak: count,
  checks: count,
  failures: count,
  downTransitions: count,
});

export const HealthSnapshotSchema = z.object({
  at: epochMs,
  drained: z.array(z.string()),
  services: z.array(
    z.object({
      service: z.string(),
      quorum: z.object({ held: z.boolean(), quorum: z.number(), hysteresis: z.number(), liveWeight: z.number() }),
      sorryServer: z.object({ realServer: z.string(), in: z.boolean() }).optional(),
      realServers: z.array(RealServerSnapshotSchema),
    }),
  ),
});
export type HealthSnapshotWire = z.infer<typeof HealthSnapshotSchema>;

/** `ipvsadm -Ln` (weights, connections) and `ipvsadm -Ln --rate` (connections per second). */
export const KernelCountersSchema = z.object({
  services: z.array(
    z.object({
      service: z.string(),
      scheduler: z.string(),
      cps: z.number().nullable(),
      realServers: z.array(
        z.object({ realServer: z.string(), forwarding: z.string(), weight: z.number(), activeConn: count, inActConn: count, cps: z.number().nullable() }),
      ),
    }),
  ),
});
export type KernelCounters = z.infer<typeof KernelCountersSchema>;

export const HealthReplySchema = z.object({
  snapshot: HealthSnapshotSchema,
  kernel: KernelCountersSchema.nullable(),
  /** Why the kernel's counters are missing (no ipvsadm, no ip_vs). */
  kernelError: z.string().optional(),
});
export type HealthReply = z.infer<typeof HealthReplySchema>;

// ---- Drain: POST /api/drain, DELETE /api/drain/:host, GET /api/drain ----

export const DrainedHostSchema = z.object({ host: z.string(), addresses: z.array(z.string()), at: z.string() });
export type DrainedHost = z.infer<typeof DrainedHostSchema>;
export const DrainListSchema = z.array(DrainedHostSchema);

export const DrainRequestSchema = z.strictObject({
  /** An agent's name (its addresses from its facts) or an IPv4 address. */
  host: z.string().min(1).max(253),
});
export const DrainHostParamsSchema = z.object({ host: z.string().min(1).max(253) });
export const DrainResponseSchema = z.object({
  host: z.string(),
  addresses: z.array(z.string()),
  /** False for an undrain of a host that was not drained. */
  changed: z.boolean(),
  /** Directors the drained set was sent to now (the others get it when they connect). */
  sentTo: z.array(z.string()),
});
export type DrainResponse = z.infer<typeof DrainResponseSchema>;

// ---- GET /api/status: every director, as `ctl status` shows it ----

export const RealServerStatusSchema = z.object({
  realServer: z.string(),
  address: z.string(),
  /** Null: in the kernel, declared by no task the checker runs. */
  declaredWeight: z.number().nullable(),
  /** What health makes of it (null: out of the table). */
  weight: z.number().nullable(),
  /** The kernel's weight now (null: not in the table). */
  liveWeight: z.number().nullable(),
  /** How the kernel forwards to it (absent: not in the table). */
  forwarding: z.enum(['nat', 'tun', 'dr', 'local']).optional(),
  state: z.enum(['up', 'down', 'unknown']),
  note: z.string(),
  drained: z.boolean(),
  sorry: z.boolean(),
  check: z.enum(['http', 'tcp', 'exec', 'none']).nullable(),
  reason: z.string().optional(),
  since: epochMs.optional(),
  lastCheckAt: epochMs.optional(),
  lastCheckMs: z.number().optional(),
  lastResult: z.string().optional(),
  activeConn: count.nullable(),
  inActConn: count.nullable(),
  cps: z.number().nullable(),
});
export type RealServerStatus = z.infer<typeof RealServerStatusSchema>;

export const ServiceStatusSchema = z.object({
  service: z.string(),
  scheduler: z.string().nullable(),
  cps: z.number().nullable(),
  /** Absent for a service no checked task declares. */
  quorum: z.object({ held: z.boolean(), quorum: z.number(), hysteresis: z.number(), liveWeight: z.number() }).optional(),
  sorryServer: z.object({ realServer: z.string(), in: z.boolean() }).optional(),
  /** Declared, and missing from the kernel table. */
  missing: z.boolean(),
  realServers: z.array(RealServerStatusSchema),
});
export type ServiceStatus = z.infer<typeof ServiceStatusSchema>;

export const DirectorStatusSchema = z.object({
  host: z.string(),
  /** When the agent answered (its clock). */
  at: epochMs.optional(),
  /** Why there is no answer (offline, timed out) or no counters. */
  error: z.string().optional(),
  drained: z.array(z.string()),
  services: z.array(ServiceStatusSchema),
});
export type DirectorStatus = z.infer<typeof DirectorStatusSchema>;

export const StatusResponseSchema = z.object({ directors: z.array(DirectorStatusSchema), drained: DrainListSchema });
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

// ---- GET /api/events: health transitions as stored ----

export const HealthEventSchema = z.intersection(z.object({ host: z.string(), receivedAt: z.string() }), HealthTransitionSchema);
export type HealthEvent = z.infer<typeof HealthEventSchema>;
export const HealthEventListSchema = z.array(HealthEventSchema);
export const EventsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  host: z.string().optional(),
});
