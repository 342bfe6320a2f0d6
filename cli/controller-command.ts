import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../common/errors.js';
import { buildController } from '../controller/app.js';
import { DEFAULT_DATA, DEFAULT_PORT } from './client.js';

export interface ControllerStartFlags {
  data?: string;
  port?: string;
  listen?: string;
  token?: string;
  project?: string;
  'keep-runs'?: string;
  'keep-days'?: string;
  'keep-scheduled'?: string;
}

/** A history bound from the command line: a positive number (whole for counts). */
function bound(flags: ControllerStartFlags, name: 'keep-runs' | 'keep-days' | 'keep-scheduled'): number | undefined {
  const text = flags[name];
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || (name !== 'keep-days' && !Number.isInteger(n))) {
    throw new CtlError('CTL_ERR_USAGE', `must be a positive ${name === 'keep-days' ? 'number' : 'whole number'}, got '${text}'`, { field: `--${name}` });
  }
  return n;
}

/** The token is made once per data folder and kept there (mode 0600) for ctl to find. */
export function ensureToken(dataDir: string, given?: string): string {
  const file = path.join(dataDir, 'token');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
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
  const keep = { keepRuns: bound(flags, 'keep-runs'), keepDays: bound(flags, 'keep-days'), keepScheduled: bound(flags, 'keep-scheduled') };
  const dataDir = path.resolve(flags.data ?? DEFAULT_DATA);
  const token = ensureToken(dataDir, flags.token ?? process.env.LVSCTL_TOKEN);
  const port = Number(flags.port ?? DEFAULT_PORT);
  const host = flags.listen ?? '127.0.0.1';
  const projectDir = path.resolve(flags.project ?? process.cwd());
  const ctl = await buildController({ dataDir, token, projectDir, ...keep });
  await ctl.app.listen({ port, host });
  process.stdout.write(`controller listening on http://${host}:${port} (data ${dataDir}, project ${projectDir})\n`);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await ctl.close();
  return 0;
}
