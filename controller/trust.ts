import { existsSync } from 'node:fs';
import { ApiTokens } from './auth/api-tokens.js';
import { EnrollmentRequests } from './auth/enrollment-requests.js';
import { EnrollmentTokens } from './auth/enrollment-tokens.js';
import { Sessions } from './auth/sessions.js';
import { Enrollment } from './pki/enrollment.js';
import { Pki, pkiPaths } from './pki/pki.js';

/** Everything a TLS controller decides trust with, opened from its data folder. */
export interface Trust {
  pki: Pki;
  enrollment: Enrollment;
  apiTokens: ApiTokens;
  enrollTokens: EnrollmentTokens;
  requests: EnrollmentRequests;
}

/** Whether `ctl controller init` made a CA in this data folder. */
export function isInitialised(dataDir: string): boolean {
  return existsSync(pkiPaths(dataDir).caCert);
}

export async function openTrust(dataDir: string, clock: () => Date = () => new Date()): Promise<Trust> {
  const pki = await Pki.open(dataDir, { clock });
  const enrollTokens = EnrollmentTokens.open(dataDir, clock);
  const requests = EnrollmentRequests.open(dataDir, clock);
  return { pki, enrollment: new Enrollment(pki, enrollTokens, requests), apiTokens: ApiTokens.open(dataDir, clock), enrollTokens, requests };
}

/**
 * Who may call the API: named API tokens (TLS) or the one shared token of an `--insecure-http`
 * dev controller. The subject is what a session and a log line name.
 */
export interface ApiAuth {
  verify(token: string): string | undefined;
  verifyBearer(header: string | undefined): { ok: true; name: string } | { ok: false; reason: string };
  sessions: Sessions;
  /** Cookies marked Secure: only when the controller speaks TLS. */
  secure: boolean;
}
