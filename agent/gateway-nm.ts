import type { Exec, ExecResult } from '../common/exec.js';
import { cLocale } from './providers/c-locale.js';

/**
 * The gateway held by a NetworkManager connection profile, read and changed through nmcli (RHEL 9,
 * and RHEL 8 hosts whose profiles are keyfiles). Every call is an argument array: connection
 * names may hold spaces and colons, and every command that addresses the profile names it by
 * UUID, so a name that is also an nmcli keyword (`id`, `uuid`) or shared by two profiles does not
 * matter. The name is read for messages and --diff only.
 */

/** The profile active on a device: its name (for messages), UUID and `ipv4.gateway`. */
export interface NmConnection {
  name: string;
  uuid: string;
  gateway: string | null;
}

/** What nmcli says about a device: its active connection, or why there is none. */
export type NmDevice =
  | { device: string; connection: NmConnection }
  | { device: string; connection: null; reason: 'no-connection' | 'no-device'; detail?: string };

export interface NmGatewayChange {
  kind: 'nmcli';
  name: string;
  uuid: string;
  /** The new `ipv4.gateway`; '' clears it. */
  gateway: string;
}

/** nmcli exits 10 when an object (a device, a connection) does not exist. */
const NOT_FOUND = 10;

/** English messages; UTF-8 so that glib does not replace non-ASCII in connection names. */
const env = () => cLocale({ LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' });

/**
 * One value as `nmcli -g FIELD` prints it: terse output escapes `:` and `\` with `\` (even for a
 * single field) and prints an unset value as an empty line.
 */
export function terseValue(stdout: string): string {
  const line = stdout.replace(/\r?\n$/, '');
  if (line.includes('\n')) throw new Error(`nmcli printed more than one line where one value was expected: ${JSON.stringify(stdout)}`);
  return line.replace(/\\(.)/g, '$1');
}

async function nmcli(exec: Exec, args: string[]): Promise<ExecResult> {
  const r = await exec('nmcli', args, { env: env() });
  if (r.code === 127) throw new Error("nmcli: command not found: style nmcli needs NetworkManager's nmcli (or set style: network or ifcfg)");
  return r;
}

function failed(args: string[], r: ExecResult): never {
  const msg = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
  const shown = args.map((a) => (a === '' || /\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  throw new Error(`nmcli ${shown}: exit ${r.code}: ${msg}`);
}

async function value(exec: Exec, args: string[]): Promise<string> {
  const r = await nmcli(exec, args);
  if (r.code !== 0) failed(args, r);
  return terseValue(r.stdout);
}

/** Whether nmcli runs on the host (RHEL 8 hosts without an ifcfg file for the device use it). */
export async function nmcliPresent(exec: Exec): Promise<boolean> {
  return (await exec('nmcli', ['--version'], { env: env() })).code === 0;
}

/**
 * The connection active on `device` and its persisted `ipv4.gateway`, one field per call so that
 * each answer is one value (`-g` with several fields of `device show` prints a line per field).
 */
export async function readNmDevice(exec: Exec, device: string): Promise<NmDevice> {
  const args = ['-g', 'GENERAL.CON-UUID', 'device', 'show', device];
  const r = await nmcli(exec, args);
  if (r.code === NOT_FOUND) return { device, connection: null, reason: 'no-device', detail: r.stderr.trim() };
  if (r.code !== 0) failed(args, r);
  const uuid = terseValue(r.stdout);
  if (uuid === '' || uuid === '--') return { device, connection: null, reason: 'no-connection' };
  const name = await value(exec, ['-g', 'GENERAL.CONNECTION', 'device', 'show', device]);
  const gateway = await value(exec, ['-g', 'ipv4.gateway', 'connection', 'show', 'uuid', uuid]);
  return { device, connection: { name, uuid, gateway: gateway === '' || gateway === '--' ? null : gateway } };
}

/** The one command that changes the profile on disk; the device is not re-activated. */
export function modifyArgv(c: NmGatewayChange): string[] {
  return ['connection', 'modify', 'uuid', c.uuid, 'ipv4.gateway', c.gateway];
}

export async function applyNm(exec: Exec, c: NmGatewayChange): Promise<void> {
  const args = modifyArgv(c);
  const r = await nmcli(exec, args);
  if (r.code !== 0) failed(args, r);
}

/** `nmcli: NAME ipv4.gateway = X` for --diff. */
export function describeNm(nm: NmDevice, gateway?: string | null): string {
  if (!nm.connection) return `nmcli: ${nm.device} (no ${nm.reason === 'no-device' ? 'such NetworkManager device' : 'active connection'})\n`;
  const g = gateway === undefined ? nm.connection.gateway : gateway;
  return `nmcli: ${nm.connection.name} ipv4.gateway = ${g || '(unset)'}\n`;
}

/** Why a device cannot hold a persisted gateway, for a plan that needs one. */
export function noConnectionMessage(nm: NmDevice & { connection: null }, address: string): string {
  if (nm.reason === 'no-device') {
    return `NetworkManager has no device ${nm.device}${nm.detail ? ` (${nm.detail})` : ''}: set device to the one that reaches gateway ${address}`;
  }
  return `no NetworkManager connection is active on device ${nm.device}, so no profile holds ipv4.gateway: activate one (nmcli connection up ...) or set device`;
}
