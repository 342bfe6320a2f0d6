import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, parseLogLevel } from '../common/log.js';
import { ensurePrivateDir } from '../common/private-file.js';
import { buildController } from '../controller/app.js';
import { CtlError, EXIT } from '../common/errors.js';
import { isInitialised } from '../controller/trust.js';
import { DEFAULT_DATA, DEFAULT_PORT } from './client.js';

export interface ControllerStartFlags {
  data?: string;
  port?: number;
  listen?: string;
  insecureHttp?: boolean;
  /** --insecure-http only: the file holding the shared token. */
  tokenFile?: string;
  project?: string;
  logLevel?: string;
  keepRuns?: string;
  keepDays?: string;
  keepScheduled?: string;
  unresponsiveAfter?: string;
  driftFixInterval?: string;
  metricsTokenFile?: string;
}

/** A history bound or drift setting from the command line: a positive number (whole for counts). */
function bound(flags: ControllerStartFlags, name: 'keepRuns' | 'keepDays' | 'keepScheduled' | 'unresponsiveAfter' | 'driftFixInterval'): number | undefined {
  const text = flags[name];
  if (text === undefined) return undefined;
  const n = Number(text);
  const flag = `--${name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
  const fractional = name === 'keepDays' || name === 'driftFixInterval';
  if (!(n > 0) || (!fractional && !Number.isInteger(n))) {
    throw new CtlError('CTL_ERR_USAGE', `must be a positive ${fractional ? 'number' : 'whole number'}, got '${text}'`, { field: flag });
  }
  return n;
}

/** The dev controller's token is made once per data folder and kept there (mode 0600) for ctl to find. */
export function ensureToken(dataDir: string, given?: string): string {
  const file = path.join(dataDir, 'token');
  ensurePrivateDir(dataDir);
  if (given) {
    writeFileSync(file, given + '\n', { mode: 0o600 });
    return given;
  }
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

/** The scrape token is read from a file, never taken on the command line where `ps` shows it. */
function readMetricsToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new CtlError('CTL_ERR_USAGE', `cannot read the metrics token: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file, field: '--metrics-token-file' });
  }
  if (text.length < 16) throw new CtlError('CTL_ERR_USAGE', 'the metrics token must be at least 16 characters', { file, field: '--metrics-token-file' });
  return text;
}

export async function controllerStart(flags: ControllerStartFlags): Promise<number> {
  const logger = createLogger({ level: parseLogLevel(flags.logLevel), name: 'controller' });
  const keep = { keepRuns: bound(flags, 'keepRuns'), keepDays: bound(flags, 'keepDays'), keepScheduled: bound(flags, 'keepScheduled') };
  const dataDir = path.resolve(flags.data ?? DEFAULT_DATA);
  if (!flags.insecureHttp && !isInitialised(dataDir)) {
    throw new CtlError('CTL_ERR_NOT_INITIALISED', `${dataDir} holds no CA: run ctl controller init --data ${dataDir} first (or --insecure-http for a dev controller with a shared token on plain HTTP)`, { field: '--data' });
  }
  const given = flags.tokenFile ? readFileSync(flags.tokenFile, 'utf8').trim() : process.env.LVSCTL_TOKEN;
  const token = flags.insecureHttp ? ensureToken(dataDir, given) : undefined;
  const port = Number(flags.port ?? DEFAULT_PORT);
  const host = flags.listen ?? '127.0.0.1';
  const projectDir = path.resolve(flags.project ?? process.cwd());
  if (token) {
    logger.warn(
      { insecure: true },
      'INSECURE: --insecure-http: plain HTTP, no certificates; agents and API share one token anyone on the network can read. A dev controller only: run ctl controller init for TLS',
    );
  }
  const fixInterval = bound(flags, 'driftFixInterval');
  const drift = { unresponsiveAfter: bound(flags, 'unresponsiveAfter'), ...(fixInterval ? { fixIntervalMs: fixInterval * 1000 } : {}) };
  const metricsToken = flags.metricsTokenFile ? readMetricsToken(flags.metricsTokenFile) : undefined;
  const ctl = await buildController({ dataDir, ...(token ? { token } : {}), projectDir, logger, ...keep, drift, ...(metricsToken ? { metricsToken } : {}) });
  // fastify logs the listening line itself; this text keeps where the data and project are in it.
  await ctl.app.listen({ port, host, listenTextResolver: (address) => `controller listening on ${address.replace(/^http:/, token ? 'http:' : 'https:')} (${token ? 'INSECURE plain HTTP' : 'TLS, CA ' + ctl.trust!.pki.caFingerprint}; data ${dataDir}, project ${projectDir})` });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await ctl.close();
  return EXIT.ok;
}
