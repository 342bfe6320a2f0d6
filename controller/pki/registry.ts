import { z } from 'zod';
import { SecretsFile } from '../auth/secrets-store.js';

const issued = z.object({ serial: z.string(), notAfter: z.string(), issuedAt: z.string() });

const hostRecord = z.object({
  /** SHA-256 of the host's public key: renewals keep it, a new enrollment replaces it. */
  key: z.string(),
  enrolledAt: z.string(),
  certs: z.array(issued),
  revokedAt: z.string().optional(),
});

const revocation = z.object({ serial: z.string(), host: z.string(), at: z.string(), reason: z.string() });

const schema = z.object({
  version: z.literal(1),
  hosts: z.record(z.string(), hostRecord),
  revoked: z.array(revocation),
  /** Serials of certificates that are not agents' (the controller's own), kept unique too. */
  other: z.array(z.string()),
});

export type HostCerts = z.infer<typeof hostRecord>;
export type Revocation = z.infer<typeof revocation>;
type Data = z.infer<typeof schema>;

/**
 * What the CA issued, to whom, and what it revoked (`pki/certs.json`, 0600). Revocations are
 * kept forever, so a revoked certificate stays refused across restarts and re-enrollments.
 */
export class CertRegistry {
  private readonly revokedSerials: Set<string>;

  private constructor(private readonly file: SecretsFile<Data>) {
    this.revokedSerials = new Set(file.data.revoked.map((r) => r.serial));
  }

  static open(file: string): CertRegistry {
    return new CertRegistry(SecretsFile.open(file, schema, () => ({ version: 1 as const, hosts: {}, revoked: [], other: [] })));
  }

  host(name: string): HostCerts | undefined {
    return Object.hasOwn(this.file.data.hosts, name) ? this.file.data.hosts[name] : undefined;
  }

  hosts(): [string, HostCerts][] {
    return Object.entries(this.file.data.hosts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  revocations(): readonly Revocation[] {
    return this.file.data.revoked;
  }

  isRevoked(serial: string): boolean {
    return this.revokedSerials.has(serial);
  }

  known(serial: string): boolean {
    const d = this.file.data;
    return this.revokedSerials.has(serial) || d.other.includes(serial) || Object.values(d.hosts).some((h) => h.certs.some((c) => c.serial === serial));
  }

  /**
   * Records a certificate for a host. A new key replaces the host's identity: certificates
   * issued for the old key are revoked as superseded, so only one key speaks for a host.
   */
  async record(host: string, key: string, serial: string, notAfter: Date, now: Date): Promise<void> {
    const at = now.toISOString();
    const cur = this.host(host);
    if (cur && cur.key !== key) this.revokeCerts(host, cur, 'superseded by a new key', at);
    const rec = cur && cur.key === key && !cur.revokedAt ? cur : { key, enrolledAt: at, certs: [] };
    rec.certs.push({ serial, notAfter: notAfter.toISOString(), issuedAt: at });
    this.file.data.hosts[host] = rec;
    await this.file.save();
  }

  async recordOther(serial: string): Promise<void> {
    this.file.data.other.push(serial);
    await this.file.save();
  }

  /** Revokes every certificate of a host; returns the serials revoked now. */
  async revokeHost(host: string, reason: string, now: Date): Promise<string[]> {
    const cur = this.host(host);
    if (!cur) return [];
    const serials = this.revokeCerts(host, cur, reason, now.toISOString());
    cur.revokedAt ??= now.toISOString();
    await this.file.save();
    return serials;
  }

  private revokeCerts(host: string, rec: HostCerts, reason: string, at: string): string[] {
    const fresh = rec.certs.filter((c) => !this.revokedSerials.has(c.serial));
    for (const c of fresh) {
      this.file.data.revoked.push({ serial: c.serial, host, at, reason });
      this.revokedSerials.add(c.serial);
    }
    return fresh.map((c) => c.serial);
  }
}
