import { execOk } from '../../common/exec.js';
import type { Enablement, ServiceObserved, ServiceProvider, ServiceWant } from './service-provider.js';
import { cLocale } from './c-locale.js';

/** `is-active` words that mean the unit runs or is getting there (exit 0 for the first two). */
const RUNNING = new Set(['active', 'reloading', 'activating', 'refreshing']);
/** `is-enabled` words for units whose enablement `enable`/`disable` cannot change. */
const FIXED = new Set(['static', 'indirect', 'generated', 'transient', 'alias']);
const ON = new Set(['enabled', 'enabled-runtime']);

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.trim() ?? '';
}

/**
 * `systemctl is-enabled` output -> enablement. A SysV script wrapped by systemd prints
 * `... redirecting to /sbin/chkconfig` lines first, so the last line is the answer. A missing
 * unit is `not-found` (systemd >= 249) or an error on stderr, exit 1 (older ones, RHEL 7-9).
 */
export function parseIsEnabled(r: { code: number; stdout: string; stderr: string }): { exists: boolean; enabled?: Enablement; text: string } {
  const word = lastLine(r.stdout);
  if (word === 'not-found' || (!word && /no such file|not found|does not exist/i.test(r.stderr))) {
    return { exists: false, text: word || lastLine(r.stderr) };
  }
  if (!word) throw new Error(`systemctl is-enabled failed (exit ${r.code}): ${r.stderr.trim()}`);
  const enabled: Enablement = ON.has(word)
    ? 'on'
    : FIXED.has(word)
      ? 'fixed'
      : word.startsWith('masked')
        ? 'masked'
        : 'off';
  return { exists: true, enabled, text: word };
}

/** `systemctl is-active` output -> running. It says `inactive` (exit 3) for units it does not know. */
export function parseIsActive(r: { code: number; stdout: string; stderr: string }): { running: boolean; text: string } {
  const word = lastLine(r.stdout);
  if (!word) throw new Error(`systemctl is-active failed (exit ${r.code}): ${r.stderr.trim()}`);
  return { running: RUNNING.has(word), text: word };
}

export const systemdProvider: ServiceProvider = {
  name: 'systemd',
  async read(want: ServiceWant, ctx) {
    // systemctl would act on this machine's manager, not on the simulated host under --root.
    if (ctx.root !== '/') throw new Error(`the systemd provider cannot manage ${want.name} under --root ${ctx.root}; use provider: sysv`);
    const opts = { env: cLocale() };
    const en = parseIsEnabled(await ctx.exec('systemctl', ['is-enabled', want.name], opts));
    const seen: ServiceObserved = { provider: 'systemd', name: want.name, exists: en.exists, enabledText: en.text };
    if (!en.exists) return seen;
    if (want.enabled !== undefined) seen.enabled = en.enabled;
    if (want.state !== undefined) {
      const act = parseIsActive(await ctx.exec('systemctl', ['is-active', want.name], opts));
      seen.running = act.running;
      seen.runningText = act.text;
    }
    return seen;
  },
  async apply(change, ctx) {
    await execOk(ctx.exec, 'systemctl', [change.kind, change.name]);
  },
};
