import type { Exec } from '../../common/exec.js';
import { cLocale } from './c-locale.js';
import type { PackageProvider, PackageState } from './package-provider.js';

export const RPM_QUERY_FORMAT = '%{NAME}\t%{VERSION}-%{RELEASE}.%{ARCH}\n';

/**
 * Reads `rpm -q --qf NAME\tVRA` output. rpm prints `package X is not installed` on stdout for a
 * missing name and exits with the count of those, so a non-zero exit alone is not an error.
 * A name given as `name.arch` matches its NAME line; several arches of one name are all listed.
 */
export function parseRpmQuery(names: string[], stdout: string, code: number, stderr = ''): PackageState {
  const missing = new Set<string>();
  const found: { name: string; vra: string }[] = [];
  for (const line of stdout.split('\n')) {
    const m = line.match(/^package (\S+) is not installed$/);
    if (m) missing.add(m[1]);
    else if (line.includes('\t')) {
      const [name, vra] = line.split('\t');
      found.push({ name, vra });
    }
  }
  if (code !== 0 && missing.size === 0) throw new Error(`rpm -q failed (exit ${code}): ${(stderr || stdout).trim()}`);
  const state: PackageState = new Map();
  for (const n of names) {
    if (missing.has(n)) state.set(n, null);
    else {
      const vers = found.filter((f) => f.name === n || n.startsWith(`${f.name}.`) || n.startsWith(`${f.name}-`)).map((f) => f.vra);
      state.set(n, vers.length ? vers.join(', ') : 'installed');
    }
  }
  return state;
}

/** yum (RHEL 6/7) and dnf (RHEL 8/9) share rpm's database for reading. */
export function rpmProvider(tool: 'yum' | 'dnf'): PackageProvider {
  return {
    name: tool,
    async query(exec: Exec, names: string[]) {
      const r = await exec('rpm', ['-q', '--qf', RPM_QUERY_FORMAT, ...names], { env: cLocale() });
      if (r.code === 127) throw new Error('rpm: command not found (is this an RPM host? set provider)');
      return parseRpmQuery(names, r.stdout, r.code, r.stderr);
    },
    install: (names) => ({ file: tool, args: ['-y', 'install', ...names], opts: { env: cLocale() } }),
    remove: (names) => ({ file: tool, args: ['-y', 'remove', ...names], opts: { env: cLocale() } }),
  };
}
