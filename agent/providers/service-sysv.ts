import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execOk, type ExecOptions } from '../../common/exec.js';
import { hostPath, type ModuleContext } from '../module.js';
import { readText } from '../fsutil.js';
import { cLocale } from './c-locale.js';
import type { Enablement, LinkEdit, RcLink, ServiceObserved, ServiceProvider, ServiceWant } from './service-provider.js';

/** `chkconfig NAME on|off` touches runlevels 2-5; 0, 1 and 6 keep (or get) kill links. */
export const ON_LEVELS = [2, 3, 4, 5];
const LEVELS = [0, 1, 2, 3, 4, 5, 6];

/**
 * LSB `status` exit codes: 0 running, 1 dead with a pid file left, 2 dead with a subsys lock
 * left, 3 not running. Anything else (4 unknown, 127 no script) cannot be acted upon.
 */
export function parseLsbStatus(name: string, r: { code: number; stdout: string; stderr: string }): { running: boolean; text: string } {
  switch (r.code) {
    case 0:
      return { running: true, text: 'running' };
    case 1:
      return { running: false, text: 'dead but pid file exists (status 1)' };
    case 2:
      return { running: false, text: 'dead but subsys locked (status 2)' };
    case 3:
      return { running: false, text: 'stopped' };
    default: {
      const said = (r.stdout + r.stderr).trim().split('\n').slice(-2).join(' | ');
      throw new Error(`cannot tell whether ${name} runs: status exited ${r.code}${said ? `: ${said}` : ''}`);
    }
  }
}

/** `# chkconfig: 2345 85 15` -> start 85, stop 15; chkconfig's own default is 50/50. */
export function chkconfigHeader(script: string | null): { start: number; stop: number } {
  const m = (script ?? '').match(/^#\s*chkconfig:\s*\S+\s+(\d+)\s+(\d+)/m);
  return m ? { start: Number(m[1]), stop: Number(m[2]) } : { start: 50, stop: 50 };
}

/** Runlevels 2-5 all on, none on, or some. */
export function enablement(onLevels: number[]): Enablement {
  const on = ON_LEVELS.filter((l) => onLevels.includes(l)).length;
  return on === ON_LEVELS.length ? 'on' : on === 0 ? 'off' : 'mixed';
}

export function levelsText(onLevels: number[]): string {
  return LEVELS.map((l) => `${l}:${onLevels.includes(l) ? 'on' : 'off'}`).join(' ');
}

/**
 * One `chkconfig --list NAME` line as RHEL 6 prints it (`%-15s` then `\tN:on|off` x 7) -> the
 * runlevels that are on. A service never `--add`ed makes chkconfig exit 1 with a hint instead.
 */
export function parseChkconfigList(name: string, r: { code: number; stdout: string; stderr: string }): { on: number[]; notAdded: boolean } {
  if (r.code !== 0) {
    if (/not referenced in any runlevel/.test(r.stderr)) return { on: [], notAdded: true };
    throw new Error(`chkconfig --list ${name} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === name);
  if (!line) throw new Error(`chkconfig --list ${name}: no line for ${name} in: ${r.stdout.trim()}`);
  const on = [...line.matchAll(/(\d):on\b/g)].map((m) => Number(m[1]));
  return { on, notAdded: false };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The links chkconfig leaves for NAME on (S in 2-5, K elsewhere) or off (K everywhere). */
export function rcLinkEdit(rc: NonNullable<ServiceObserved['rc']>, name: string, on: boolean): LinkEdit {
  const want: RcLink[] = LEVELS.map((level) => ({
    level,
    name: on && ON_LEVELS.includes(level) ? `S${pad(rc.start)}${name}` : `K${pad(rc.stop)}${name}`,
  }));
  const key = (l: RcLink) => `${l.level}/${l.name}`;
  const have = new Set(rc.links.map(key));
  const keep = new Set(want.map(key));
  return { remove: rc.links.filter((l) => !keep.has(key(l))), add: want.filter((l) => !have.has(key(l))), target: rc.target };
}

/** RHEL's layout: /etc/rc.d/rcN.d, scripts in /etc/rc.d/init.d (/etc/init.d links there). */
function rcDir(ctx: Pick<ModuleContext, 'root'>, level: number): string {
  return hostPath(ctx, `/etc/rc.d/rc${level}.d`);
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

/** Where the init script is, and the link target chkconfig would write for it. */
async function locate(ctx: Pick<ModuleContext, 'root'>, name: string): Promise<{ script: string; target: string } | null> {
  const rhel = hostPath(ctx, `/etc/rc.d/init.d/${name}`);
  const plain = hostPath(ctx, `/etc/init.d/${name}`);
  if (await isFile(plain)) {
    return { script: plain, target: (await isFile(rhel)) ? `../init.d/${name}` : path.relative(rcDir(ctx, 3), plain) };
  }
  return (await isFile(rhel)) ? { script: rhel, target: `../init.d/${name}` } : null;
}

async function readLinks(ctx: Pick<ModuleContext, 'root'>, name: string): Promise<RcLink[]> {
  const links: RcLink[] = [];
  for (const level of LEVELS) {
    const entries = await fs.readdir(rcDir(ctx, level)).catch(() => [] as string[]);
    for (const e of entries.sort()) if (e.match(/^[SK]\d\d(.+)$/)?.[1] === name) links.push({ level, name: e });
  }
  return links;
}

/** What `service` gives a script: a clean environment with PATH and TERM only. */
function scriptEnv(): ExecOptions {
  return { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', TERM: process.env.TERM ?? 'dumb', LANG: 'C' } };
}

/**
 * SysV init. On a real host (root '/') it runs `service` and `chkconfig` as an operator would.
 * Under another root (the lab, tests) those would act on the real host, so it runs the root's
 * init script itself and keeps the rc symlinks chkconfig would keep.
 */
export const sysvProvider: ServiceProvider = {
  name: 'sysv',
  async read(want: ServiceWant, ctx) {
    const where = await locate(ctx, want.name);
    const seen: ServiceObserved = { provider: 'sysv', name: want.name, exists: where !== null };
    if (!where) return seen;
    const real = ctx.root === '/';
    if (want.state !== undefined) {
      const r = real
        ? await ctx.exec('service', [want.name, 'status'], { env: cLocale() })
        : await ctx.exec(where.script, ['status'], scriptEnv());
      const st = parseLsbStatus(want.name, r);
      seen.running = st.running;
      seen.runningText = st.text;
    }
    if (want.enabled !== undefined) {
      let on: number[];
      if (real) {
        const list = parseChkconfigList(want.name, await ctx.exec('chkconfig', ['--list', want.name], { env: cLocale() }));
        on = list.on;
        if (list.notAdded) seen.notAdded = true;
      } else {
        const links = await readLinks(ctx, want.name);
        on = [...new Set(links.filter((l) => l.name.startsWith('S')).map((l) => l.level))];
        seen.rc = { links, ...chkconfigHeader(await readText(where.script)), target: where.target };
      }
      seen.enabled = enablement(on);
      seen.enabledText = levelsText(on);
    }
    return seen;
  },
  async apply(change, ctx) {
    if (change.kind === 'start' || change.kind === 'stop') {
      if (ctx.root === '/') return void (await execOk(ctx.exec, 'service', [change.name, change.kind]));
      const where = await locate(ctx, change.name);
      if (!where) throw new Error(`no init script for ${change.name} under ${ctx.root}`);
      return void (await execOk(ctx.exec, where.script, [change.kind], scriptEnv()));
    }
    if (change.links) {
      for (const l of change.links.remove) await fs.rm(path.join(rcDir(ctx, l.level), l.name), { force: true });
      for (const l of change.links.add) {
        await fs.mkdir(rcDir(ctx, l.level), { recursive: true });
        await fs.symlink(change.links.target, path.join(rcDir(ctx, l.level), l.name));
      }
      return;
    }
    if (change.add) await execOk(ctx.exec, 'chkconfig', ['--add', change.name]);
    await execOk(ctx.exec, 'chkconfig', [change.name, change.kind === 'enable' ? 'on' : 'off']);
  },
};
