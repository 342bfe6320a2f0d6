import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { enrollmentCsr, loadOrCreateKey } from '../../agent/identity.js';

/** A fresh temp folder and its cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An agent's state folder with its own key, and a CSR for `host` made with it. */
export async function agentRequest(root: string, host: string, state = host): Promise<{ stateDir: string; csr: string; keyPem: string }> {
  const stateDir = path.join(root, 'agents', state);
  const csr = await enrollmentCsr(stateDir, host);
  return { stateDir, csr, keyPem: (await loadOrCreateKey(stateDir)).keyPem };
}

/** Every file below `dir` with its permission bits. */
export function modes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out[path.relative(dir, p)] = statSync(p).mode & 0o777;
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Whether `needle` occurs in any file below `dir`. */
export function anyFileContains(dir: string, needle: string): boolean {
  return Object.keys(modes(dir)).some((f) => {
    const p = path.join(dir, f);
    return statSync(p).isFile() && readFileSync(p, 'utf8').includes(needle);
  });
}
