import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { LabMode } from './modes.js';
import { DEFAULT_LAB_PORT, labPaths, type LabPaths } from './paths.js';

export { LAB_MODES, type LabMode } from './modes.js';

/** What `lab up` records about a running lab (`<labdir>/state.json`). */
export interface LabState {
  mode: LabMode;
  port: number;
  kernel: string;
  qemuPid: number;
  /** The controller process `lab up` started; null when it reused one already listening. */
  controllerPid: number | null;
  startedAt: string;
  repo: string;
}

export function readLabState(p: LabPaths = labPaths()): LabState | undefined {
  try {
    return JSON.parse(readFileSync(p.stateFile, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeLabState(p: LabPaths, s: LabState): void {
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const tmp = `${p.stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, p.stateFile);
}

export function removeLabState(p: LabPaths): void {
  rmSync(p.stateFile, { force: true });
}

/** The lab controller's admin API token, written by `ctl controller init` (mode 0600); '' when missing. */
export function labToken(p: LabPaths = labPaths()): string {
  try {
    return readFileSync(p.tokenFile, 'utf8').trim();
  } catch {
    return '';
  }
}

export function controllerUrl(port: number = DEFAULT_LAB_PORT): string {
  return `https://127.0.0.1:${port}`;
}

/**
 * For `ctl`: the controller URL, token and CA of the lab on this machine when one is up, so
 * `ctl` talks to the lab by default, over TLS. Never creates anything.
 */
export function labControllerDefaults(p: LabPaths = labPaths()): { url: string; token: string; caFile: string } | undefined {
  const s = readLabState(p);
  if (!s || !existsSync(p.tokenFile)) return undefined;
  const token = labToken(p);
  return token ? { url: controllerUrl(s.port), token, caFile: p.caFile } : undefined;
}

/** The name `ctl` looks for (cli/client.ts): the lab's controller endpoint when a lab is up. */
export const labEndpoint = (): { url: string; token: string; caFile: string } | undefined => labControllerDefaults();
