import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readText, writeAtomic } from '../fsutil.js';
import { ipv4 } from '../validate.js';
import type { HealthConfig } from './config.js';
import type { PersistedProbe, ProbeStatus } from './scheduler.js';
import { checkSchema } from './schema.js';

/**
 * The health configuration and current states, kept in the agent's state folder so that checks
 * go on, with the states they had, when the controller is unreachable and after a restart.
 */
export const HEALTH_STATE_FILE = 'health.json';
export const HEALTH_STATE_VERSION = 1;

export interface HealthStateFile {
  version: typeof HEALTH_STATE_VERSION;
  savedAt: number;
  /** The configuration each source (an ipvs task) declared; see HealthMonitor.configure. */
  sources: Record<string, HealthConfig>;
  drained: string[];
  probes: Record<string, PersistedProbe>;
  quorumLost: string[];
}

const weight = z.number().int().min(0).max(65535);
const port = z.number().int().min(0).max(65535);
const realServer = z.looseObject({
  address: z.string().min(1),
  port,
  forwarding: z.enum(['nat', 'tun', 'dr']),
  weight,
});
const virtualService = z.looseObject({
  protocol: z.enum(['tcp', 'udp', 'sctp', 'fwmark']),
  address: z.string().optional(),
  port: port.optional(),
  fwmark: z.number().int().optional(),
  scheduler: z.string().min(1),
  realServers: z.array(realServer),
});
const serviceHealth = z.object({
  service: virtualService,
  quorum: z.number().int().min(1),
  hysteresis: z.number().int().min(0),
  sorryServer: realServer.optional(),
  checks: z.record(z.string(), checkSchema),
});
const probe = z.object({
  state: z.enum(['up', 'down']),
  reason: z.string().optional(),
  since: z.number(),
  downTransitions: z.number().int().min(0),
});
const stateFile = z.object({
  version: z.literal(HEALTH_STATE_VERSION, { error: `version must be ${HEALTH_STATE_VERSION}` }),
  savedAt: z.number(),
  sources: z.record(z.string(), z.object({ services: z.array(serviceHealth) })),
  drained: z.array(ipv4),
  probes: z.record(z.string(), probe),
  quorumLost: z.array(z.string()),
});

export function healthStatePath(stateDir: string): string {
  return path.join(stateDir, HEALTH_STATE_FILE);
}

/** The saved state, or null when there is none; a file that is not a valid state is an error naming it and the field. */
export async function loadHealthState(stateDir: string): Promise<HealthStateFile | null> {
  const file = healthStatePath(stateDir);
  const text = await readText(file);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${(e as Error).message}`);
  }
  const r = stateFile.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${file}: ${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
  }
  // The loose schemas keep fields a newer table model adds; the ones checked are the ones read.
  return r.data as unknown as HealthStateFile;
}

/** Written whole through a temporary file and a rename, readable by root only. */
export async function saveHealthState(stateDir: string, state: HealthStateFile): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeAtomic(healthStatePath(stateDir), JSON.stringify(state, null, 1) + '\n', 0o600);
}

/** The part of each probe's status that is kept. */
export function persistedProbes(status: readonly ProbeStatus[]): Record<string, PersistedProbe> {
  return Object.fromEntries(
    status.map((p) => [p.id, { state: p.state, since: p.since, downTransitions: p.downTransitions, ...(p.reason !== undefined ? { reason: p.reason } : {}) }]),
  );
}
