import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, parseLogLevel } from '../common/log.js';
import { ensurePrivateDir } from '../common/private-file.js';
import { buildController } from '../controller/app.js';
import { CtlError, EXIT } from '../common/errors.js';
import { DEFAULT_DATA, DEFAULT_PORT } from './client.js';

export interface ControllerStartFlags {
  data?: string;
  port?: number;
  listen?: string;
  token?: string;
  project?: string;
  logLevel?: string;
  keepRuns?: string;
  keepDays?: string;
  keepScheduled?: string;
}

/** A history bound from the command line: a positive number (whole for counts). */
function bound(flags: ControllerStartFlags, name: 'keepRuns' | 'keepDays' | 'keepScheduled'): number | undefined {
  const text = flags[name];
  if (text === undefined) return undefined;
  const n = Number(text);
  const flag = `--${name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
  if (!(n > 0) || (name !== 'keepDays' && !Number.isInteger(n))) {
    throw new CtlError('CTL_ERR_USAGE', `must be a positive ${name === 'keepDays' ? 'number' : 'whole number'}, got '${text}'`, { field: flag });
  }
  return n;
}

/** The token is made once per data folder and kept there (mode 0600) for ctl to find. */
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

export async function controllerStart(flags: ControllerStartFlags): Promise<number> {
  const logger = createLogger({ level: parseLogLevel(flags.logLevel), name: 'controller' });
  const keep = { keepRuns: bound(flags, 'keepRuns'), keepDays: bound(flags, 'keepDays'), keepScheduled: bound(flags, 'keepScheduled') };
  const dataDir = path.resolve(flags.data ?? DEFAULT_DATA);
  const token = ensureToken(dataDir, flags.token ?? process.env.LVSCTL_TOKEN);
  const port = Number(flags.port ?? DEFAULT_PORT);
  const host = flags.listen ?? '127.0.0.1';
  const projectDir = path.resolve(flags.project ?? process.cwd());
  const ctl = await buildController({ dataDir, token, projectDir, logger, ...keep });
  // fastify logs the listening line itself; this text keeps where the data and project are in it.
  await ctl.app.listen({ port, host, listenTextResolver: (address) => `controller listening on ${address} (data ${dataDir}, project ${projectDir})` });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await ctl.close();
  return EXIT.ok;
}
