import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { exec } from '../common/exec.js';
import { CtlError } from '../common/errors.js';
import { aptUpdate, lastLine } from './packages.js';

/** A Debian kernel unpacked in the cache, with depmod run on its modules. */
export interface CachedKernel {
  /** `uname -r` of the guest, e.g. 6.1.0-56-amd64. */
  version: string;
  package: string;
  /** The unpacked package: `boot/vmlinuz-<version>`, `lib/modules/<version>/`. */
  dir: string;
  vmlinuz: string;
  /** The folder to bind-mount on the guest's /lib/modules. */
  modulesDir: string;
  /** True when it was downloaded or unpacked by this call. */
  fresh: boolean;
}

const META = 'linux-image-amd64';

/** The kernel package `linux-image-amd64` depends on, from the local apt lists. */
export async function resolveKernelPackage(): Promise<string> {
  const find = async (): Promise<string | undefined> => {
    const r = await exec('apt-cache', ['depends', META]);
    if (r.code !== 0) return undefined;
    const m = /Depends:\s*(linux-image-\S+)/.exec(r.stdout);
    return m?.[1];
  };
  let pkg = await find();
  if (!pkg) {
    await aptUpdate();
    pkg = await find();
  }
  if (!pkg) throw new CtlError('CTL_ERR_LAB', `apt-cache depends ${META} names no kernel package`);
  return pkg;
}

interface PackageInfo {
  version: string;
  file: string;
  sha256: string;
}

async function packageInfo(pkg: string): Promise<PackageInfo> {
  const r = await exec('apt-cache', ['show', '--no-all-versions', pkg]);
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.+)$`, 'm').exec(r.stdout)?.[1]?.trim();
  const filename = field('Filename');
  const version = field('Version');
  if (r.code !== 0 || !filename || !version) {
    throw new CtlError('CTL_ERR_LAB', `apt-cache show ${pkg}: ${lastLine(r.stderr) || 'no Filename'}`);
  }
  return { version, file: basename(filename), sha256: field('SHA256') ?? '' };
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function verified(path: string, want: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  return !want || (await sha256(path)) === want;
}

/**
 * Makes sure the kernel `linux-image-amd64` depends on is downloaded and unpacked in `cache`:
 * `apt-get download` once (or a copy from `LVSCTL_KERNEL_SEED`, a folder holding the same .deb),
 * `dpkg-deb -x`, `depmod -b`. Later calls reuse the cache.
 */
export async function ensureKernel(cache: string, log: (m: string) => void = () => {}): Promise<CachedKernel> {
  const pkg = await resolveKernelPackage();
  const version = pkg.replace(/^linux-image-/, '');
  const dir = join(cache, version);
  const marker = join(dir, '.unpacked');
  const vmlinuz = join(dir, 'boot', `vmlinuz-${version}`);
  const modulesDir = join(dir, 'lib', 'modules');
  const done = (fresh: boolean): CachedKernel => ({ version, package: pkg, dir, vmlinuz, modulesDir, fresh });
  if (existsSync(marker) && existsSync(vmlinuz)) return done(false);

  mkdirSync(cache, { recursive: true });
  const info = await packageInfo(pkg);
  const deb = join(cache, info.file);
  if (!(await verified(deb, info.sha256))) {
    rmSync(deb, { force: true });
    const seed = process.env.LVSCTL_KERNEL_SEED ? join(process.env.LVSCTL_KERNEL_SEED, info.file) : '';
    if (seed && (await verified(seed, info.sha256))) {
      log(`kernel: copying ${info.file} from ${process.env.LVSCTL_KERNEL_SEED}`);
      copyFileSync(seed, deb);
    } else {
      log(`kernel: downloading ${pkg} ${info.version}`);
      let r = await exec('apt-get', ['download', pkg], { cwd: cache, timeoutMs: 1_800_000 });
      if (r.code !== 0) {
        await aptUpdate();
        r = await exec('apt-get', ['download', pkg], { cwd: cache, timeoutMs: 1_800_000 });
      }
      if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `apt-get download ${pkg} failed: ${lastLine(r.stderr || r.stdout)}`);
      if (!(await verified(deb, info.sha256))) {
        throw new CtlError('CTL_ERR_LAB', `${deb}: missing or checksum differs from the apt lists`);
      }
    }
  }

  log(`kernel: unpacking ${info.file}`);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const x = await exec('dpkg-deb', ['-x', deb, tmp], { timeoutMs: 600_000 });
  if (x.code !== 0) throw new CtlError('CTL_ERR_LAB', `dpkg-deb -x ${deb}: ${lastLine(x.stderr)}`);
  const d = await exec('depmod', ['-b', tmp, version], { timeoutMs: 600_000 });
  if (d.code !== 0) throw new CtlError('CTL_ERR_LAB', `depmod -b ${tmp} ${version}: ${lastLine(d.stderr)}`);
  if (!existsSync(join(tmp, 'boot', `vmlinuz-${version}`))) {
    throw new CtlError('CTL_ERR_LAB', `${info.file} holds no boot/vmlinuz-${version}`);
  }
  writeFileSync(join(tmp, '.unpacked'), `${info.file}\n`);
  renameSync(tmp, dir);
  return done(true);
}

/** Path of a module file relative to the cache's modules folder, from modules.dep. */
export function modulePaths(k: CachedKernel, names: readonly string[]): Map<string, string> {
  const dep = readFileSync(join(k.modulesDir, k.version, 'modules.dep'), 'utf8');
  const byName = new Map<string, string>();
  for (const line of dep.split('\n')) {
    const file = line.split(':')[0];
    if (!file) continue;
    const name = basename(file).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');
    byName.set(name, join(k.modulesDir, k.version, file));
  }
  const out = new Map<string, string>();
  for (const n of names) {
    const p = byName.get(n.replace(/-/g, '_'));
    if (!p) throw new CtlError('CTL_ERR_LAB', `kernel ${k.version} has no module ${n}`);
    out.set(n, p);
  }
  return out;
}
