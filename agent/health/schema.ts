import { z } from 'zod';
import { absPath, ipv4 } from '../validate.js';
import { normalizeStatus, STATUS_HINT } from './status-codes.js';

/**
 * The health check a virtual service declares (`healthcheck:`), overridable per real server.
 * Key names follow keepalived and HAProxy; docs/HEALTH.md maps each one. Every parsed check
 * parses again to itself, so the agent's state file can hold parsed checks.
 */

const seconds = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number of seconds` })
    .min(0.1, `${what} must be 0.1-${max} seconds`)
    .max(max, `${what} must be 0.1-${max} seconds`);
const count = (what: string) =>
  z.number({ error: `${what} must be a whole number` }).int(`${what} must be a whole number`).min(1, `${what} must be 1-100`).max(100, `${what} must be 1-100`);
const checkPort = z
  .number({ error: 'port must be 1-65535' })
  .int('port must be 1-65535')
  .min(1, 'port must be 1-65535')
  .max(65535, 'port must be 1-65535');

/** Timing and failure handling, shared by every check that probes something (no defaults here). */
const timingFields = {
  /** Start-to-start time between checks (keepalived `delay_loop`, HAProxy `inter`). */
  interval: seconds('interval', 3600),
  timeout: seconds('timeout', 3600),
  /** Between checks while a server is changing state (HAProxy `fastinter`); half the interval when unset. */
  retry_interval: seconds('retry_interval', 3600),
  fall: count('fall'),
  rise: count('rise'),
  on_failure: z.enum(['inhibit', 'remove'], { error: 'on_failure must be inhibit or remove' }),
  /** A new real server starts down until it passes once (keepalived `alpha`). */
  alpha: z.boolean({ error: 'alpha must be true or false' }),
};
const timing = {
  interval: timingFields.interval.default(2),
  timeout: timingFields.timeout.default(1),
  retry_interval: timingFields.retry_interval.optional(),
  fall: timingFields.fall.default(2),
  rise: timingFields.rise.default(2),
  on_failure: timingFields.on_failure.default('inhibit'),
  alpha: timingFields.alpha.default(false),
};
const TIMING_KEYS = Object.keys(timingFields);

const httpPath = z
  .string({ error: 'path must be a string' })
  .regex(/^\/[\x21-\x7e]*$/, 'path must start with / and hold no spaces or control characters');
const hostHeader = z
  .string({ error: 'host must be a string' })
  .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?$/, 'host must be a host name like www.example.com, optionally with :port');
const status = z.preprocess(
  (v) => normalizeStatus(v) ?? v,
  z.string({ error: `status ${STATUS_HINT}` }).refine((s) => normalizeStatus(s) === s, `status ${STATUS_HINT}`),
);
const expect = z.string({ error: 'expect must be a string' }).min(1, 'expect must not be empty').max(1024, 'expect must be at most 1024 characters');
const source = ipv4.describe('local source address of the check (keepalived bindto, HAProxy source)');
const argv = z
  .array(z.string({ error: 'argv elements must be strings' }).max(4096, 'argv elements must be at most 4096 characters'), {
    error: 'argv must be a list of strings (no shell)',
  })
  .min(1, 'argv must name a program')
  .max(64, 'argv must have at most 64 elements')
  .refine((a) => a.length === 0 || absPath.safeParse(a[0]).success, { message: 'argv[0] must be an absolute path (no PATH lookup)', path: [0] })
  .refine((a) => a.every((s) => !s.includes('\0')), 'argv elements must not contain NUL');

function timingRules(c: { interval: number; timeout: number; retry_interval?: number }, ctx: z.RefinementCtx): void {
  if (c.timeout > c.interval) ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must not exceed interval (${c.interval} s)` });
  if (c.retry_interval !== undefined && c.retry_interval > c.interval) {
    ctx.addIssue({ code: 'custom', path: ['retry_interval'], message: `must not exceed interval (${c.interval} s)` });
  }
}

const httpCheck = z
  .object({
    type: z.literal('http'),
    path: httpPath.default('/'),
    host: hostHeader.optional(),
    status: status.default('200-399'),
    expect: expect.optional(),
    port: checkPort.optional(),
    source: source.optional(),
    ...timing,
  })
  .strict()
  .superRefine(timingRules);
const tcpCheck = z
  .object({ type: z.literal('tcp'), port: checkPort.optional(), source: source.optional(), ...timing })
  .strict()
  .superRefine(timingRules);
const execCheck = z
  .object({ type: z.literal('exec'), argv, ...timing })
  .strict()
  .superRefine(timingRules);
const noCheck = z.object({ type: z.literal('none') }).strict();

export const CHECK_TYPES = ['http', 'tcp', 'exec', 'none'] as const;

export const checkSchema = z.discriminatedUnion('type', [httpCheck, tcpCheck, execCheck, noCheck], {
  error: `type must be one of ${CHECK_TYPES.join(', ')}`,
});

export type Check = z.output<typeof checkSchema>;
export type HttpCheck = Extract<Check, { type: 'http' }>;
export type TcpCheck = Extract<Check, { type: 'tcp' }>;
export type ExecCheck = Extract<Check, { type: 'exec' }>;
export type ProbingCheck = Exclude<Check, { type: 'none' }>;

/** A real server's `healthcheck:`: any key of any type, merged over the service's check. */
export const checkOverrideSchema = z
  .object({
    type: z.enum(CHECK_TYPES, { error: `type must be one of ${CHECK_TYPES.join(', ')}` }).optional(),
    path: httpPath.optional(),
    host: hostHeader.optional(),
    status: status.optional(),
    expect: expect.optional(),
    port: checkPort.optional(),
    source: source.optional(),
    argv: argv.optional(),
    interval: timingFields.interval.optional(),
    timeout: timingFields.timeout.optional(),
    retry_interval: timingFields.retry_interval.optional(),
    fall: timingFields.fall.optional(),
    rise: timingFields.rise.optional(),
    on_failure: timingFields.on_failure.optional(),
    alpha: timingFields.alpha.optional(),
  })
  .strict();

export type CheckOverride = z.output<typeof checkOverrideSchema>;

export type Resolved = { ok: true; check: Check } | { ok: false; issues: { path: PropertyKey[]; message: string }[] };

/**
 * The check a real server gets: its override over the service's check. A changed `type` keeps
 * only the timing keys of the service's check (a path means nothing to a tcp check), and
 * `none` keeps nothing.
 */
export function resolveCheck(base: Check | undefined, override: CheckOverride | undefined): Resolved {
  const from: Check = base ?? { type: 'none' };
  if (!override) return { ok: true, check: from };
  if (override.type === undefined && from.type === 'none') {
    return { ok: false, issues: [{ path: ['type'], message: 'needed: the service declares no check to override' }] };
  }
  const type = override.type ?? from.type;
  const inherited =
    type === from.type ? from : type === 'none' ? {} : Object.fromEntries(Object.entries(from).filter(([k]) => TIMING_KEYS.includes(k)));
  const r = checkSchema.safeParse({ ...inherited, ...override, type });
  return r.success ? { ok: true, check: r.data } : { ok: false, issues: r.error.issues.map((i) => ({ path: i.path, message: i.message })) };
}
