import type { Exec } from '../../common/exec.js';

/** The `iptables` table: every loaded netfilter table, its chains and rules (`iptables-save`). */
export interface Chain {
  name: string;
  /** null for a user chain (`-` in iptables-save). */
  policy: string | null;
}
export interface NetfilterTable {
  name: string;
  chains: Chain[];
  rules: string[];
}
export interface IptablesDump {
  tables: NetfilterTable[];
  /** `# Warning:` lines (iptables-legacy tables present, ...). */
  warnings: string[];
}

/** `iptables-save` text -> tables with chains and rules; counters and comments are dropped. */
export function parseIptablesSave(text: string): IptablesDump {
  const tables: NetfilterTable[] = [];
  const warnings: string[] = [];
  let cur: NetfilterTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# Warning:')) warnings.push(line.slice(2).trim());
    else if (line.startsWith('*')) tables.push((cur = { name: line.slice(1).trim(), chains: [], rules: [] }));
    else if (cur && line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      cur.chains.push({ name, policy: policy === '-' ? null : policy });
    } else if (cur && line.startsWith('-A ')) cur.rules.push(line);
  }
  return { tables, warnings };
}

/** null when iptables-save is not installed. */
export async function readIptables(exec: Exec): Promise<IptablesDump | null> {
  const r = await exec('iptables-save', []);
  if (r.code === 127) return null;
  if (r.code !== 0) throw new Error(`iptables-save failed (exit ${r.code}): ${r.stderr.trim()}`);
  return parseIptablesSave(r.stdout);
}
