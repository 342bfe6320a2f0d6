import type { Exec, ExecOptions } from '../../common/exec.js';
import type { HostFacts } from '../../common/protocol.js';

export type PackageProviderName = 'dnf' | 'yum' | 'apt';

/** Installed version of each asked-for name, null when it is not installed. */
export type PackageState = Map<string, string | null>;

export interface PackageCommand {
  file: string;
  args: string[];
  opts?: ExecOptions;
}

/**
 * A package manager behind the two things the module needs: a query that changes nothing (also
 * what check mode runs) and the argv of one batched install or remove.
 */
export interface PackageProvider {
  name: PackageProviderName;
  query(exec: Exec, names: string[]): Promise<PackageState>;
  install(names: string[]): PackageCommand;
  remove(names: string[]): PackageCommand;
}

/** The provider the facts name, unless the task names one. */
export function pickPackageProvider(facts: HostFacts, override?: PackageProviderName): PackageProviderName {
  if (override) return override;
  if (facts.pkgManager === 'none') {
    throw new Error('no package manager known on this host (facts.pkgManager is none); set provider: dnf, yum or apt');
  }
  return facts.pkgManager;
}
