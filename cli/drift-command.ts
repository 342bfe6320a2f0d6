import { age } from '../common/age.js';
import { FindingHistorySchema, OpenFindingsSchema, type HostFindingView } from '../common/api.js';
import { CtlError, EXIT } from '../common/errors.js';
import { clientFor } from './client.js';
import { color, out, table } from './output.js';
import type { RunFlags } from './run-request.js';

export type HeldDriftFlags = RunFlags & { history?: boolean; json?: boolean };

const since = (iso: string, now: number) => `${age(Math.max(0, now - Date.parse(iso)))} ago`;
const where = (f: HostFindingView) => (f.role ? `${f.role} : ${f.task}` : f.task);

function query(flags: HeldDriftFlags, limit?: number): string {
  const host = flags.hosts ?? flags.limit;
  const q = new URLSearchParams({ ...(host ? { host } : {}), ...(limit ? { limit: String(limit) } : {}) }).toString();
  return q ? `?${q}` : '';
}

/**
 * `ctl drift` without a playbook: the findings of each host's held desired state, as the
 * agents' watches report them (exit 6 when any is open); `--history` the resolved ones.
 * Hosts whose watch is silent (agent offline, or no report of the state it holds) are named,
 * so a quiet host is not taken for a clean one.
 */
export async function heldDrift(flags: HeldDriftFlags): Promise<number> {
  if (flags.inventory?.length || flags.extraVars?.length) {
    throw new CtlError('CTL_ERR_USAGE', 'ctl drift without a playbook checks the desired state the controller holds; -i and -e need a playbook (ctl drift site.yml -i ...)', { field: flags.inventory?.length ? '-i' : '-e' });
  }
  const c = await clientFor(flags);
  const now = Date.now();
  if (flags.history) {
    const list = await c.get(`/api/findings/history${query(flags, 200)}`, FindingHistorySchema);
    if (flags.json) return out(JSON.stringify(list, null, 2)), EXIT.ok;
    const rows = [['HOST', 'TASK', 'FINDING', 'SEEN', 'RESOLVED']];
    for (const f of list) rows.push([f.host, where(f), f.text, `${f.firstSeen.replace('T', ' ').slice(0, 19)} .. ${f.lastSeen.slice(11, 19)}`, since(f.resolvedAt ?? f.lastSeen, now)]);
    out(list.length ? table(rows) : 'no resolved drift findings');
    return EXIT.ok;
  }
  const res = await c.get(`/api/findings${query(flags)}`, OpenFindingsSchema);
  if (flags.json) {
    out(JSON.stringify(res, null, 2));
    return res.findings.length ? EXIT.drift : EXIT.ok;
  }
  if (!res.hosts.length && !res.findings.length) {
    out('no desired state held yet: the controller holds one per host after an applying run (ctl run playbook site.yml)');
    return EXIT.ok;
  }
  if (res.findings.length) {
    const rows = [['HOST', 'TASK', 'FINDING', 'SINCE']];
    for (const f of res.findings) rows.push([f.host, where(f), f.text, since(f.firstSeen, now)]);
    out(table(rows));
  }
  for (const h of res.hosts) {
    if (h.state !== 'online') out(color.changed(`warning: ${h.host} is ${h.state}: its findings are as last reported`));
    else if (!h.reportedAt) out(color.changed(`warning: ${h.host} has not reported a check of its held state (revision ${h.revision}) yet`));
  }
  const byHost = new Map<string, number>();
  for (const f of res.findings) byHost.set(f.host, (byHost.get(f.host) ?? 0) + 1);
  out(byHost.size ? `DRIFT on ${[...byHost].map(([h, n]) => `${h} (${n})`).join(', ')}` : `no drift: ${res.hosts.length} host${res.hosts.length === 1 ? ' is' : 's are'} as held`);
  return byHost.size ? EXIT.drift : EXIT.ok;
}
