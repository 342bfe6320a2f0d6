import type { Exec } from '../../common/exec.js';
import { parseList, type ListTable } from '../ipvs/parse-list.js';
import { parseSave } from '../ipvs/parse-save.js';
import type { IpvsTable } from '../ipvs/table.js';

/**
 * The `ipvs` table (`ipvsadm -Sn`) and the `ipvs-thresholds` table (`ipvsadm -L -n
 * --thresholds`: the upper and lower connection thresholds, which `-S` never prints). Parsed by
 * agent/ipvs; IPVS sends no netlink notifications, so a watcher has to poll these.
 */
export interface IpvsSnapshot {
  /** `ipvsadm -Sn` as printed: what a save file must hold. */
  raw: string;
  table: IpvsTable;
}

async function ipvsadm(exec: Exec, args: string[]): Promise<string> {
  const r = await exec('ipvsadm', args);
  if (r.code === 0) return r.stdout;
  if (r.code === 127) throw new Error('ipvsadm is not installed');
  throw new Error(`ipvsadm ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n').join(' | ')}`);
}

export async function readIpvs(exec: Exec): Promise<IpvsSnapshot> {
  const raw = await ipvsadm(exec, ['-Sn']);
  return { raw, table: parseSave(raw) };
}

export async function readIpvsThresholds(exec: Exec): Promise<ListTable> {
  return parseList(await ipvsadm(exec, ['-L', '-n', '--thresholds']));
}
