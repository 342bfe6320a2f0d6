/**
 * The `modules` table: the names of the loaded kernel modules, from /proc/modules. The kernel's
 * own files are read where the kernel puts them, not under --root: --root moves configuration
 * files, while the module list belongs to the running kernel.
 */
export const PROC_MODULES = '/proc/modules';

/** `-` and `_` are the same to the kernel; /proc/modules prints `_`. */
export function moduleKey(name: string): string {
  return name.replace(/-/g, '_');
}

/** Names in /proc/modules (`ipip 16384 0 - Live 0x0000000000000000`); none without the file. */
export function parseProcModules(text: string | null): Set<string> {
  return new Set((text ?? '').split('\n').filter(Boolean).map((l) => l.split(' ')[0]));
}
