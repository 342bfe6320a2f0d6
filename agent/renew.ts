import { X509Certificate } from 'node:crypto';
import { RenewResponseSchema, TrustRefusalSchema } from '../common/api.js';
import type { Logger } from '../common/log.js';
import { loadIdentity, renewalDue, saveIdentity, tlsClientOptions, type AgentIdentity } from './identity.js';
import { realTimers, type Timers } from './timers.js';
import { httpsJson } from './tls.js';

export interface RenewalOptions {
  controller: string;
  stateDir: string;
  log: Logger;
  /** Called with the new identity, for the next connection to present it. */
  onRenewed: (id: AgentIdentity) => void;
  timers?: Timers;
  /** How often to look (default 6 h); renewal is due with less than `windowDays` (30) left. */
  everyMs?: number;
  windowDays?: number;
  now?: () => Date;
}

/**
 * Renews the agent's certificate before it expires, without enrolling again: the current
 * certificate (over mutual TLS) is the credential for `POST /api/agent/renew`, which signs the
 * same key for the same host. Looked at on start and every few hours; a failure is logged and
 * tried at the next look, while the current certificate keeps working.
 */
export class CertRenewal {
  private timer: unknown;
  private readonly timers: Timers;

  constructor(private readonly o: RenewalOptions) {
    this.timers = o.timers ?? realTimers;
  }

  start(): void {
    void this.check();
    this.timer = this.timers.setInterval(() => void this.check(), this.o.everyMs ?? 6 * 3_600_000);
  }

  stop(): void {
    this.timers.clearInterval(this.timer);
  }

  /** Renews when due; true when a new certificate was saved. */
  async check(): Promise<boolean> {
    const id = loadIdentity(this.o.stateDir);
    if (!id || !renewalDue(id.certPem, this.o.now?.() ?? new Date(), this.o.windowDays ?? 30)) return false;
    try {
      const res = await httpsJson(this.o.controller, '/api/agent/renew', {}, tlsClientOptions(id));
      const ok = RenewResponseSchema.safeParse(res.json);
      if (res.status !== 200 || !ok.success) {
        const refused = TrustRefusalSchema.safeParse(res.json);
        throw new Error(refused.success ? `${refused.data.error.refusal}: ${refused.data.error.message}` : `HTTP ${res.status}`);
      }
      await saveIdentity(this.o.stateDir, ok.data.cert, id.caPem);
      const next = loadIdentity(this.o.stateDir)!;
      this.o.log.info({ serial: ok.data.serial, notAfter: ok.data.notAfter, previous: new X509Certificate(id.certPem).serialNumber.toLowerCase() }, 'certificate renewed');
      this.o.onRenewed(next);
      return true;
    } catch (e) {
      this.o.log.warn({ reason: (e as NodeJS.ErrnoException).code ?? (e as Error).message, expires: new X509Certificate(id.certPem).validTo }, 'certificate renewal failed; the current one is kept');
      return false;
    }
  }
}
