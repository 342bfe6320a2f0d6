import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../common/exec.js';
import { CtlError } from '../common/errors.js';
import { modulePaths, type CachedKernel } from './kernel.js';
import { lastLine } from './packages.js';

/** Loaded by the initramfs, in this order, to reach the host's root over 9p and overlay it. */
export const INITRAMFS_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'netfs',
  'fscache',
  '9pnet',
  '9pnet_virtio',
  '9p',
  'overlay',
] as const;

/**
 * Where the guest keeps a second view of the host's root, for host folders its init hides
 * under its own tmpfs (a repository checked out under /tmp, as CI may do).
 */
export const HOST_VIEW = '/.lvslab-host';

/** busybox from the busybox-static package: the initramfs has no libc. */
export const BUSYBOX = '/bin/busybox';

/**
 * The initramfs's /init (busybox sh). It mounts the host's root (9p, read-only) and puts a
 * read-only overlay over it whose upper layer only adds the empty `/lib/modules` mount point
 * the host may lack (and the mount point of a second view of the host's root), then switch_roots into it and runs the lab's guest init, whose path comes
 * on the kernel command line (`lvslab.init=`).
 */
export function initramfsInit(): string {
  const mods = INITRAMFS_MODULES.join(' ');
  return `#!/bin/busybox sh
B=/bin/busybox
fail() { echo "LVSLAB-INIT-FAILED: initramfs: $*"; $B poweroff -f; }
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in ${mods}; do $B insmod /mod/$m.ko || fail "insmod $m"; done
init=; cache=none
for a in $($B cat /proc/cmdline); do
  case "$a" in lvslab.init=*) init="\${a#lvslab.init=}";; lvslab.9pcache=*) cache="\${a#lvslab.9pcache=}";; esac
done
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=$cache hostroot /host || fail "mount 9p hostroot"
$B mount -t tmpfs -o mode=755 extra /extra
if [ -L /host/lib ]; then $B mkdir -p /extra/usr/lib/modules; else $B mkdir -p /extra/lib/modules; fi
$B mkdir -p /extra${HOST_VIEW}
$B mount -t overlay -o ro,lowerdir=/extra:/host overlay /newroot || fail "mount overlay root"
[ -n "$init" ] || fail "no lvslab.init= on the kernel command line"
$B mount --move /proc /newroot/proc
$B mount --move /sys /newroot/sys
$B mount --move /dev /newroot/dev
$B mount --bind /host /newroot${HOST_VIEW}
exec $B switch_root /newroot /bin/sh "$init"
`;
}

/**
 * Builds (once per kernel and init content) the tiny initramfs: static busybox, the 9p/virtio/
 * overlay modules from the cached kernel, and /init. Returns the archive's path.
 */
export async function ensureInitramfs(k: CachedKernel): Promise<string> {
  if (!existsSync(BUSYBOX)) throw new CtlError('CTL_ERR_LAB', `${BUSYBOX} is missing (package busybox-static)`);
  const mods = modulePaths(k, INITRAMFS_MODULES);
  const init = initramfsInit();
  const h = createHash('sha256').update(init).update([...mods.values()].join('\n')).digest('hex').slice(0, 12);
  const out = join(k.dir, `initramfs-${h}.cpio`);
  if (existsSync(out)) return out;

  const build = join(k.dir, `initramfs-${h}.build`);
  rmSync(build, { recursive: true, force: true });
  for (const d of ['bin', 'mod', 'proc', 'sys', 'dev', 'host', 'extra', 'newroot']) mkdirSync(join(build, d), { recursive: true });
  copyFileSync(BUSYBOX, join(build, 'bin', 'busybox'));
  chmodSync(join(build, 'bin', 'busybox'), 0o755);
  for (const [name, file] of mods) copyFileSync(file, join(build, 'mod', `${name}.ko`));
  writeFileSync(join(build, 'init'), init, { mode: 0o755 });

  const files = ['.', 'init', 'bin', 'bin/busybox', 'mod', ...[...mods.keys()].map((m) => `mod/${m}.ko`),
    'proc', 'sys', 'dev', 'host', 'extra', 'newroot'];
  const tmp = `${out}.tmp`;
  const r = await exec('cpio', ['--quiet', '-o', '-H', 'newc', '-O', tmp], { cwd: build, input: files.join('\n') + '\n' });
  rmSync(build, { recursive: true, force: true });
  if (r.code !== 0) throw new CtlError('CTL_ERR_LAB', `cpio: ${lastLine(r.stderr)}`);
  renameSync(tmp, out);
  return out;
}

