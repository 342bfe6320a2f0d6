import { z } from 'zod';

/**
 * The trust routes of the API (docs/SECURITY.md): enrollment, agents' certificates, API tokens
 * and the health page's login. Re-exported by common/api.ts; kept apart so that file stays one
 * reading long. Same conventions: request bodies strict, responses `z.object`.
 */

const isoTime = z.string();
const hostName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a host name (letters, digits, _ . -, at most 64)');

// ---- POST /api/enroll (no API token: an agent asking for its certificate) ----

export const EnrollRequestSchema = z.strictObject({
  host: hostName,
  /** PEM PKCS#10 request for `host`, signed with the agent's own key. */
  csr: z.string().max(16_384),
  /** One-time enrollment token; without one the request waits for `ctl agents accept`. */
  token: z.string().max(256).optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const IssuedCertSchema = z.object({ host: z.string(), serial: z.string(), notAfter: isoTime, cert: z.string(), ca: z.string() });
export type IssuedCertView = z.infer<typeof IssuedCertSchema>;

export const EnrollResponseSchema = z.discriminatedUnion('status', [
  IssuedCertSchema.extend({ status: z.literal('issued') }),
  /** Waiting for an operator; `key` is the SHA-256 of the agent's public key, to compare out of band. */
  z.object({ status: z.literal('pending'), host: z.string(), key: z.string() }),
]);
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

/** A refused enrollment or renewal (403): the coded error plus why, and whether asking again can help. */
export const TrustRefusalSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), refusal: z.string(), definitive: z.boolean() }),
});

// ---- POST /api/agent/renew (no API token: the agent's client certificate is the credential) ----

export const RenewResponseSchema = IssuedCertSchema;

// ---- GET /api/agents/certificates, /api/agents/pending, POST /api/agents/:name/accept|reject|revoke ----

export const AgentCertSchema = z.object({
  host: z.string(),
  state: z.enum(['enrolled', 'revoked']),
  serial: z.string().nullable(),
  notAfter: isoTime.nullable(),
  keyFingerprint: z.string(),
  enrolledAt: isoTime,
  revokedAt: isoTime.optional(),
});
export type AgentCert = z.infer<typeof AgentCertSchema>;

export const EnrollmentRequestViewSchema = z.object({
  host: z.string(),
  key: z.string(),
  peer: z.string(),
  requestedAt: isoTime,
  state: z.enum(['pending', 'accepted', 'rejected']),
  decidedAt: isoTime.optional(),
});
export type EnrollmentRequestView = z.infer<typeof EnrollmentRequestViewSchema>;

export const AgentCertListSchema = z.object({ certificates: z.array(AgentCertSchema), requests: z.array(EnrollmentRequestViewSchema) });
export type AgentCertList = z.infer<typeof AgentCertListSchema>;
export const PendingListSchema = z.array(EnrollmentRequestViewSchema);

export const AcceptResponseSchema = z.object({ host: z.string(), serial: z.string(), notAfter: isoTime });
export const RejectResponseSchema = z.object({ host: z.string(), state: z.literal('rejected') });
export const RevokeResponseSchema = z.object({ host: z.string(), serials: z.array(z.string()), disconnected: z.boolean() });

// ---- POST /api/enroll-tokens, GET /api/enroll-tokens ----

export const EnrollTokenRequestSchema = z.strictObject({
  /** Host pattern the token may enroll (`server[2:4]`, `web*`); default: any host. */
  hosts: z.string().max(1000).optional(),
  ttlSeconds: z.number().int().positive().optional(),
  uses: z.number().int().positive().optional(),
});
export const EnrollTokenCreatedSchema = z.object({ token: z.string(), id: z.string(), hosts: z.string(), expiresAt: isoTime, uses: z.number() });
export const EnrollTokenListSchema = z.array(
  z.object({
    id: z.string(),
    hosts: z.string(),
    createdAt: isoTime,
    expiresAt: isoTime,
    uses: z.number(),
    usedBy: z.array(z.object({ host: z.string(), at: isoTime })),
    state: z.enum(['valid', 'spent', 'expired', 'revoked']),
  }),
);

// ---- GET /api/tokens, POST /api/tokens, DELETE /api/tokens/:name ----

export const ApiTokenListSchema = z.array(z.object({ name: z.string(), createdAt: isoTime }));
export const ApiTokenCreateSchema = z.strictObject({ name: hostName });
export const ApiTokenCreatedSchema = z.object({ name: z.string(), token: z.string() });
export const ApiTokenNameParamsSchema = z.object({ name: hostName });
export const ApiTokenRevokedSchema = z.object({ revoked: z.string() });

// ---- POST /login, POST /logout (the health page) ----

export const LoginRequestSchema = z.strictObject({ token: z.string().min(1).max(256) });
export const LoginResponseSchema = z.object({ ok: z.literal(true), expiresAt: isoTime });
export const LogoutResponseSchema = z.object({ ok: z.literal(true) });
