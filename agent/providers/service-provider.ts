import type { HostFacts } from '../../common/protocol.js';
import type { ModuleContext } from '../module.js';

export type ServiceProviderName = 'systemd' | 'sysv';

/** What a task wants of one service; either part may be left out. */
export interface ServiceWant {
  name: string;
  state?: 'running' | 'stopped';
  enabled?: boolean;
  provider?: ServiceProviderName;
}

/**
 * Boot-time enablement as read: `on`/`off`, `mixed` (SysV: on in some of runlevels 2-5 only),
 * `fixed` (systemd static/generated/transient/indirect units, which enable/disable cannot change),
 * `masked` (systemd: cannot be enabled or started until unmasked).
 */
export type Enablement = 'on' | 'off' | 'mixed' | 'fixed' | 'masked';

/** An rc symlink chkconfig would make: `rc3.d/S85httpd -> ../init.d/httpd`. */
export interface RcLink {
  level: number;
  name: string;
}

export interface ServiceObserved {
  provider: ServiceProviderName;
  name: string;
  exists: boolean;
  /** Only read when the task asks for a state. */
  running?: boolean;
  /** The provider's own words: `active`, `failed`, `dead but pid file exists (status 1)`. */
  runningText?: string;
  enabled?: Enablement;
  enabledText?: string;
  /** SysV under a non-'/' root: the links found and what chkconfig would use for new ones. */
  rc?: { links: RcLink[]; start: number; stop: number; target: string };
  /** SysV on a real host: `chkconfig --list` said the service was never `--add`ed. */
  notAdded?: boolean;
}

/** The rc links to make or remove when SysV enablement is managed directly under a root. */
export interface LinkEdit {
  remove: RcLink[];
  add: RcLink[];
  target: string;
}

interface ServiceTarget {
  provider: ServiceProviderName;
  name: string;
}
/** `links`: SysV under a root; `add`: run `chkconfig --add` first (never added on this host). */
interface BootChange extends ServiceTarget {
  links?: LinkEdit;
  add?: boolean;
}
export type ServiceChange =
  | ({ kind: 'start' } & ServiceTarget)
  | ({ kind: 'stop' } & ServiceTarget)
  | ({ kind: 'enable' } & BootChange)
  | ({ kind: 'disable' } & BootChange);

export interface ServiceProvider {
  name: ServiceProviderName;
  read(want: ServiceWant, ctx: ModuleContext): Promise<ServiceObserved>;
  apply(change: ServiceChange, ctx: ModuleContext): Promise<void>;
}

/** The init system the facts name, unless the task names one; null when the host has none. */
export function pickServiceProvider(facts: HostFacts, override?: ServiceProviderName): ServiceProviderName | null {
  if (override) return override;
  return facts.initSystem === 'none' ? null : facts.initSystem;
}
