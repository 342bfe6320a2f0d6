import { exec, execOk } from '../common/exec.js';
import { CtlError } from '../common/errors.js';

/** Debian packages the lab needs on the host (the guest runs the host's binaries over 9p). */
export const LAB_PACKAGES = [
  'qemu-system-x86',
  'busybox-static',
  'cpio',
  'kmod',
  'ipvsadm',
  'iptables',
  'iproute2',
  'curl',
] as const;

/** What bench/health-failover.ts adds to compare with: Debian's keepalived (the tests do not need it). */
export const BENCH_PACKAGES = ['keepalived'] as const;

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

export async function missingPackages(pkgs: readonly string[] = LAB_PACKAGES): Promise<string[]> {
  const missing: string[] = [];
  for (const p of pkgs) {
    const r = await exec('dpkg-query', ['-W', '-f=${Status}', p]);
    if (r.code !== 0 || !r.stdout.includes('install ok installed')) missing.push(p);
  }
  return missing;
}

let aptUpdated = false;

/** `apt-get update`, at most once per process. */
export async function aptUpdate(): Promise<void> {
  if (aptUpdated) return;
  const r = await exec('apt-get', ['update'], { env: APT_ENV, timeoutMs: 600_000 });
  if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `apt-get update failed: ${lastLine(r.stderr || r.stdout)}`);
  aptUpdated = true;
}

/** Installs whatever of the lab's packages is missing; returns what it installed. */
export async function ensurePackages(pkgs: readonly string[] = LAB_PACKAGES): Promise<string[]> {
  const missing = await missingPackages(pkgs);
  if (missing.length === 0) return [];
  await aptUpdate();
  try {
    await execOk(exec, 'apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      env: APT_ENV,
      timeoutMs: 1_800_000,
    });
  } catch (e) {
    throw new CtlError('CTL_ERR_LAB', `cannot install ${missing.join(' ')}: ${(e as Error).message}`);
  }
  return missing;
}

export function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
}
