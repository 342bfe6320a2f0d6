import { z } from 'zod';

/**
 * A director's live IPVS table with its counters, as its agent reports it (protocol
 * `ipvs:report`) from `ipvsadm -Ln` (weights, ActiveConn, InActConn) and `ipvsadm -Ln --rate`
 * (connections per second). The controller shows it in the health view and /metrics.
 */
export const IpvsReportRealServerSchema = z.object({
  /** `172.25.7.3:80`. */
  key: z.string(),
  forwarding: z.enum(['nat', 'tun', 'dr', 'local']).optional(),
  weight: z.number().int(),
  activeConn: z.number().int().nonnegative(),
  inactConn: z.number().int().nonnegative(),
  /** CPS of `--rate`; null when the rate listing could not be read. */
  connRate: z.number().nonnegative().nullable(),
});

export const IpvsReportServiceSchema = z.object({
  /** `tcp:172.25.7.200:80`. */
  key: z.string(),
  /** `TCP 172.25.7.200:80`. */
  label: z.string(),
  scheduler: z.string(),
  connRate: z.number().nonnegative().nullable(),
  realServers: z.array(IpvsReportRealServerSchema),
});

export const IpvsReportSchema = z.object({
  /** Agent wall clock (epoch ms) of the read. */
  at: z.number(),
  services: z.array(IpvsReportServiceSchema),
});
export type IpvsReport = z.infer<typeof IpvsReportSchema>;
export type IpvsReportService = z.infer<typeof IpvsReportServiceSchema>;
