import { z } from 'zod';

/** Argument types shared by modules; every one rejects what could be read as shell syntax. */

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${octet}(\\.${octet}){3}$`);

export const ipv4 = z.string().regex(IPV4, 'must be an IPv4 address like 172.25.7.2');

export const prefix = z.number().int().min(0).max(32);

/** `172.25.7.100/24`; the prefix defaults to 32 when left out. */
export const cidr = z
  .string()
  .regex(new RegExp(`^${octet}(\\.${octet}){3}(/(3[0-2]|[12]?\\d))?$`), 'must be an IPv4 address with optional /prefix');

export const port = z.number().int().min(0, 'port must be 0-65535').max(65535, 'port must be 0-65535');

/** Interface name, optionally with an alias label (`eth0:0`). IFNAMSIZ is 16 with the NUL. */
export const device = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,15}(:[A-Za-z0-9_-]{1,14})?$/, 'must be a device name like eth0 or eth0:0 (letters, digits, _ . @ -)');

/**
 * A network device itself, without an alias label: what `ip link` names (tunnels, the device
 * of an ifcfg file). Linux refuses `.` and `..` as names.
 */
export const linkName = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'must be a device name like eth0 or tunl0, without a :label (letters, digits, _ . @ -)')
  .refine((n) => n !== '.' && n !== '..', 'must not be . or ..');

export const absPath = z
  .string()
  .regex(/^\/[^\0\n]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');

/** A name passed to a package manager or init system: no options, no shell syntax. */
export const unitName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+@:-]*$/, 'must be a plain name (letters, digits, _ . + @ : -)');

export const sysctlKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]+([./][A-Za-z0-9_:@-]+)+$/, 'must be a sysctl key like net.ipv4.ip_forward');

export const mode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'must be an octal mode like 0644');

/** One line of a zod error: `field: message`, fields joined with dots as written in tasks.yml. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(args)'}: ${i.message}`)
    .join('; ');
}

/**
 * A package name as rpm and dpkg spell it, optionally with `:arch`. Narrower than unitName: no
 * `@` (yum would read a group) and nothing a package manager could take as an option.
 */
export const pkgName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*(:[a-z0-9_-]+)?$/, 'must be a package name (letters, digits, _ . + -, optional :arch)');

/** A yum repository id, the `[section]` of a .repo file. */
export const repoId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be a repo id (letters, digits, _ . : -)');

/** A URL handed to a package manager; yum's `$releasever`/`$basearch` are allowed, whitespace is not. */
export const repoUrl = z
  .string()
  .regex(/^(https?|ftp|file):\/\/[^\s"'`\\]+$/, 'must be an http://, https://, ftp:// or file:// URL without spaces');

/** A dotted IPv4 netmask with contiguous ones (`255.255.255.0`), as `ipvsadm -M` takes it. */
export const netmask4 = z
  .string()
  .regex(IPV4, 'must be a netmask like 255.255.255.0')
  .refine((m) => /^1*0*$/.test(m.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('')), {
    message: 'must be a netmask like 255.255.255.0 (ones, then zeros)',
  });

