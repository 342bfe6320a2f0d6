import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CtlError } from '../common/errors.js';

export const DEFAULT_PORT = 7480;
export const DEFAULT_DATA = '.data/controller';

/** Where the controller is, the token to show it, and (https) the CA its certificate must chain to. */
export interface Endpoint {
  url: string;
  token: string;
  /** PEM of the CA that signed the controller's certificate; only that CA is trusted. */
  ca?: string;
}

/** A lab's endpoint as `lab/state.ts` gives it: the token itself and the CA file. */
export interface LabEndpoint {
  url: string;
  token: string;
  caFile?: string;
}

export interface EndpointFlags {
  controller?: string;
  /** A file holding the API token (secrets never go on a command line). */
  tokenFile?: string;
  /** The CA certificate to verify the controller with. */
  ca?: string;
}

function readSecret(file: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CtlError('CTL_ERR_USAGE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { field });
  }
  const token = text.trim();
  if (!token) throw new CtlError('CTL_ERR_USAGE', `${file} is empty`, { field });
  return token;
}

const localCa = () => path.resolve(DEFAULT_DATA, 'pki', 'ca.crt');
/** An environment variable, an empty one counting as unset. */
const env = (name: string) => process.env[name] || undefined;

/**
 * The controller's URL: --controller, LVSCTL_URL, a running lab's, then the local default,
 * https when `./.data/controller` holds a CA (ctl controller init) and http otherwise.
 */
export function resolveUrl(flags: EndpointFlags, lab?: LabEndpoint): string {
  const url = flags.controller ?? env('LVSCTL_URL') ?? lab?.url ?? `${existsSync(localCa()) ? 'https' : 'http'}://127.0.0.1:${DEFAULT_PORT}`;
  return url.replace(/\/$/, '');
}

/** The CA to verify an https controller with: --ca, LVSCTL_CA, the lab's, the local data folder's. */
export function resolveCa(flags: EndpointFlags, url: string, lab?: LabEndpoint): string | undefined {
  if (!url.startsWith('https:')) return undefined;
  const file = flags.ca ?? env('LVSCTL_CA') ?? (lab?.caFile && lab.url === url ? lab.caFile : undefined) ?? (existsSync(localCa()) ? localCa() : undefined);
  if (!file) {
    throw new CtlError('CTL_ERR_CONTROLLER_CERT', `no CA to verify ${url} with: pass --ca FILE or set LVSCTL_CA (the controller's DATA/pki/ca.crt)`, { field: '--ca' });
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CtlError('CTL_ERR_CONTROLLER_CERT', `cannot read the CA ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { field: '--ca' });
  }
}

/**
 * The whole endpoint. The token: --token-file, LVSCTL_TOKEN, LVSCTL_TOKEN_FILE, a running lab's
 * (when talking to it), then `./.data/controller/token` (an --insecure-http dev controller).
 */
export function resolveEndpoint(flags: EndpointFlags, lab?: LabEndpoint): Endpoint {
  const url = resolveUrl(flags, lab);
  let token = flags.tokenFile ? readSecret(flags.tokenFile, '--token-file') : env('LVSCTL_TOKEN');
  const tokenFile = env('LVSCTL_TOKEN_FILE');
  if (!token && tokenFile) token = readSecret(tokenFile, 'LVSCTL_TOKEN_FILE');
  if (!token && lab && lab.url === url) token = lab.token;
  if (!token) {
    const f = path.resolve(DEFAULT_DATA, 'token');
    if (existsSync(f)) token = readFileSync(f, 'utf8').trim();
  }
  if (!token) throw new CtlError('CTL_ERR_UNAUTHORIZED', `no token for ${url}: pass --token-file FILE or set LVSCTL_TOKEN`);
  const ca = resolveCa(flags, url, lab);
  return { url, token, ...(ca ? { ca } : {}) };
}
