import { z } from 'zod';
import { checkOverrideSchema, checkSchema, resolveCheck } from './schema.js';

/**
 * The health keys of an `ipvs` service entry and of its real servers, as zod shapes to spread
 * into the module's schema, plus the cross-field rules (`refineServiceHealth`) its superRefine
 * calls. Quorum, hysteresis and sorry server are per service, as in keepalived's virtual_server.
 */

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const SORRY = new RegExp(`^${OCTET}(\\.${OCTET}){3}(:(\\d{1,5}))?$`);
const SORRY_HINT = 'sorry_server must be an IPv4 address with an optional port 1-65535, like 172.25.7.250:80';

export const sorryServerSchema = z
  .string({ error: SORRY_HINT })
  .regex(SORRY, SORRY_HINT)
  .refine((s) => {
    const port = s.split(':')[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, SORRY_HINT);

/** `172.25.7.250:80` -> address and port; the port defaults to the virtual port. */
export function parseSorryServer(s: string, vport: number): { address: string; port: number } {
  const [address, port] = s.split(':');
  return { address, port: port === undefined ? vport : Number(port) };
}

const FORWARDING = ['nat', 'tun', 'dr'] as const;

export const serviceHealthShape = {
  /** Absent: no check, every real server is up (as before health checks existed). */
  healthcheck: checkSchema.optional(),
  /** Minimum sum of live weights (keepalived `quorum`). */
  quorum: z.number({ error: 'quorum must be a whole number' }).int('quorum must be a whole number').min(1, 'quorum must be 1-4294967295').max(4294967295, 'quorum must be 1-4294967295').default(1),
  /** keepalived `hysteresis`: lost below quorum - hysteresis, regained at quorum + hysteresis. */
  hysteresis: z.number({ error: 'hysteresis must be a whole number' }).int('hysteresis must be a whole number').min(0, 'hysteresis must be 0 or more').max(4294967295, 'hysteresis must be at most 4294967295').default(0),
  /** Put in the service (weight 1) while quorum is lost. */
  sorry_server: sorryServerSchema.optional(),
  /** keepalived `sorry_server_lvs_method`; the real servers' forwarding when unset. */
  sorry_server_forwarding: z.enum(FORWARDING, { error: 'sorry_server_forwarding must be nat, tun or dr' }).optional(),
};

export const realServerHealthShape = {
  healthcheck: checkOverrideSchema.optional(),
};

const serviceHealthObject = z.object(serviceHealthShape);
const realServerHealthObject = z.object(realServerHealthShape);
export type ServiceHealthFields = z.output<typeof serviceHealthObject>;
export type RealServerHealthFields = z.output<typeof realServerHealthObject>;

/** What the rules need of a parsed ipvs service entry. */
export interface ServiceHealthInput extends ServiceHealthFields {
  protocol: string;
  port?: number;
  realServers: ({ address: string; port?: number; forwarding: (typeof FORWARDING)[number] } & RealServerHealthFields)[];
}

/** The sorry server's forwarding: declared, or the real servers' (the first one's), or dr. */
export function sorryForwarding(s: Pick<ServiceHealthInput, 'sorry_server_forwarding' | 'realServers'>): (typeof FORWARDING)[number] {
  return s.sorry_server_forwarding ?? s.realServers[0]?.forwarding ?? 'dr';
}

/** Cross-field rules, for the ipvs service schema's superRefine. */
export function refineServiceHealth(s: ServiceHealthInput, ctx: z.RefinementCtx): void {
  const vport = s.protocol === 'fwmark' ? 0 : (s.port ?? 0);
  s.realServers.forEach((r, i) => {
    const resolved = resolveCheck(s.healthcheck, r.healthcheck);
    const at = ['realServers', i, 'healthcheck'];
    if (!resolved.ok) {
      for (const issue of resolved.issues) ctx.addIssue({ code: 'custom', path: [...at, ...issue.path], message: issue.message });
      return;
    }
    const c = resolved.check;
    const port = r.port ?? vport;
    if ((c.type === 'http' || c.type === 'tcp') && c.port === undefined && port === 0) {
      ctx.addIssue({ code: 'custom', path: r.healthcheck ? at : ['healthcheck'], message: `${c.type} check of ${r.address} needs port: the real server has none (fwmark service)` });
    }
  });
  if (s.sorry_server !== undefined) {
    const sorry = parseSorryServer(s.sorry_server, vport);
    const fwd = sorryForwarding(s);
    if (s.protocol !== 'fwmark' && fwd !== 'nat' && sorry.port !== vport) {
      ctx.addIssue({ code: 'custom', path: ['sorry_server'], message: `port must equal the virtual port ${vport} with forwarding ${fwd} (only nat maps ports)` });
    }
    if (s.realServers.some((r) => r.address === sorry.address && (r.port ?? vport) === sorry.port)) {
      ctx.addIssue({ code: 'custom', path: ['sorry_server'], message: `${sorry.address}:${sorry.port} is also a real server of this service` });
    }
  }
}
