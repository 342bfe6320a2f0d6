import { z } from 'zod';
import { execOk } from '../../common/exec.js';
import { ALL_TABLES } from '../kstate/tables.js';
import { defineModule, type ModuleContext } from '../module.js';
import { pkgName } from '../validate.js';
import { aptProvider } from '../providers/package-apt.js';
import { pickPackageProvider, type PackageProvider, type PackageProviderName, type PackageState } from '../providers/package-provider.js';
import { rpmProvider } from '../providers/package-rpm.js';

/**
 * apt `-o` keys a task may set: where apt reads its lists and caches, and lock or retry waits.
 * apt has keys that run commands (`DPkg::Pre-Invoke`, `Dir::Bin::*`, proxy auto-detect), so the
 * rest are refused rather than passed through.
 */
const APT_OPTION =
  /^(Dir::(Etc|State|Cache)(::[A-Za-z0-9_-]+)*|APT::Get::[A-Za-z0-9_-]+|DPkg::Lock::Timeout|Acquire::Retries|Acquire::https?::Timeout)=[^\n\0]*$/;

const schema = z
  .object({
    name: pkgName.optional(),
    names: z.array(pkgName).min(1).optional(),
    state: z.enum(['installed', 'absent']).default('installed'),
    provider: z.enum(['dnf', 'yum', 'apt']).optional(),
    aptOptions: z
      .array(z.string().regex(APT_OPTION, 'must be Key=Value with a Dir::Etc/State/Cache, APT::Get, DPkg::Lock::Timeout or Acquire timeout key'))
      .default([]),
  })
  .strict()
  .refine((a) => (a.name === undefined) !== (a.names === undefined), { message: 'give name or names (one of them)', path: ['name'] });

type Args = z.infer<typeof schema>;
interface Observed {
  provider: PackageProviderName;
  state: PackageState;
}
type Change = { kind: 'install' | 'remove'; provider: PackageProviderName; names: string[] };

export function packageNames(a: Pick<Args, 'name' | 'names'>): string[] {
  return [...new Set(a.names ?? [a.name!])];
}

export function providerFor(name: PackageProviderName, a: Pick<Args, 'aptOptions'>): PackageProvider {
  return name === 'apt' ? aptProvider(a.aptOptions) : rpmProvider(name);
}

function show(state: PackageState): string {
  return [...state].map(([n, v]) => `${n}: ${v ?? '(not installed)'}\n`).join('');
}

async function query(args: Args, ctx: ModuleContext, provider: PackageProviderName): Promise<PackageState> {
  return providerFor(provider, args).query(ctx.exec, packageNames(args));
}

export default defineModule<Args, Observed, Change>({
  name: 'package',
  summary: 'packages installed or absent (dnf, yum or apt, from the facts)',
  schema,
  async read(args, ctx) {
    const provider = pickPackageProvider(ctx.facts, args.provider);
    return { provider, state: await query(args, ctx, provider) };
  },
  plan(args, cur) {
    const before = show(cur.state);
    const installing = args.state === 'installed';
    const todo = [...cur.state].filter(([, v]) => (v === null) === installing).map(([n]) => n);
    const after = show(new Map([...cur.state].map(([n, v]) => [n, installing ? (v ?? '(installed)') : null])));
    if (!todo.length) return { changes: [], before, after };
    return { changes: [{ kind: installing ? 'install' : 'remove', provider: cur.provider, names: todo }], before, after };
  },
  // Debian starts a package's services on install, and scriptlets may load modules.
  touches: ALL_TABLES,
  slowCheck: true,
  // Installs fetch from mirrors: slow is normal here.
  timeoutMs: 900_000,
  async apply(args, changes, ctx) {
    for (const c of changes) {
      const p = providerFor(c.provider, args);
      const cmd = c.kind === 'install' ? p.install(c.names) : p.remove(c.names);
      await execOk(ctx.exec, cmd.file, cmd.args, cmd.opts);
      // yum 3 exits 0 when only some of the names exist in its repositories; trust the database.
      const now = await p.query(ctx.exec, c.names);
      const left = c.names.filter((n) => (now.get(n) === null) === (c.kind === 'install'));
      if (left.length) {
        throw new Error(`${cmd.file} ${c.kind} succeeded but ${left.join(', ')} ${c.kind === 'install' ? 'is still not installed' : 'is still installed'}`);
      }
    }
  },
});
