import type { Exec } from '../../common/exec.js';
import { cLocale } from './c-locale.js';
import type { PackageProvider, PackageState } from './package-provider.js';

export const DPKG_QUERY_FORMAT = '${binary:Package}\t${Status}\t${Version}\n';

/** `libc6` asked, `libc6:amd64` listed (Multi-Arch: same), or the other way round. */
function sameName(asked: string, listed: string): boolean {
  if (asked === listed) return true;
  const base = (s: string) => s.split(':')[0];
  return !asked.includes(':') || !listed.includes(':') ? base(asked) === base(listed) : false;
}

/**
 * Reads `dpkg-query -W -f PKG\tSTATUS\tVERSION` output. Only `... ok installed` counts: a removed
 * package keeping its conffiles shows `deinstall ok config-files`. dpkg-query exits 1 when some
 * name is unknown (said on stderr) and 2 on a real error.
 */
export function parseDpkgQuery(names: string[], stdout: string, code: number, stderr = ''): PackageState {
  if (code > 1) throw new Error(`dpkg-query failed (exit ${code}): ${(stderr || stdout).trim()}`);
  const rows = stdout
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => {
      const [pkg, status, version] = l.split('\t');
      return { pkg, installed: status.trim().split(/\s+/)[2] === 'installed', version };
    });
  const state: PackageState = new Map();
  for (const n of names) {
    const hit = rows.find((r) => r.installed && sameName(n, r.pkg));
    state.set(n, hit ? hit.version : null);
  }
  return state;
}

/**
 * apt-get, never interactive. `options` are extra `-o Key=Value` pairs (a lab or test pointing apt
 * at a local repository); the schema allows only keys that cannot make apt run a command.
 */
export function aptProvider(options: string[] = []): PackageProvider {
  const env = cLocale({ DEBIAN_FRONTEND: 'noninteractive' });
  const o = options.flatMap((x) => ['-o', x]);
  return {
    name: 'apt',
    async query(exec: Exec, names: string[]) {
      const r = await exec('dpkg-query', ['-W', '-f', DPKG_QUERY_FORMAT, ...names], { env: cLocale() });
      if (r.code === 127) throw new Error('dpkg-query: command not found (is this a Debian host? set provider)');
      return parseDpkgQuery(names, r.stdout, r.code, r.stderr);
    },
    install: (names) => ({ file: 'apt-get', args: [...o, 'install', '-y', '--no-install-recommends', ...names], opts: { env } }),
    remove: (names) => ({ file: 'apt-get', args: [...o, 'remove', '-y', ...names], opts: { env } }),
  };
}
