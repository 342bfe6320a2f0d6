import { RunDetailSchema, RunListSchema, type Recap } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { banner, out, printRecap, table, taskLine, unreachableLine } from './output.js';

type Flags = EndpointFlags & { json?: boolean };

/** `ctl runs`: the run history, newest first. */
export async function runsList(flags: Flags): Promise<number> {
  const runs = await (await clientFor(flags)).get('/api/runs', RunListSchema);
  if (flags.json) return out(JSON.stringify(runs, null, 2)), EXIT.ok;
  const rows = [['ID', 'STARTED', 'STATE', 'LABEL', 'OK', 'CHANGED', 'FAILED', 'UNREACHABLE', 'TITLE']];
  for (const r of runs) {
    const sum = (k: keyof Recap) => String(r.totals[k]);
    rows.push([r.id, r.createdAt.replace('T', ' ').slice(0, 19), r.status, r.label, sum('ok'), sum('changed'), sum('failed'), sum('unreachable'), r.title + (r.check ? ' (check)' : '')]);
  }
  out(runs.length ? table(rows) : 'no runs yet');
  return EXIT.ok;
}

/** `ctl runs show ID`: one run as it was printed live, from the record. */
export async function runsShow(id: string, flags: Flags): Promise<number> {
  const run = await (await clientFor(flags)).get(`/api/runs/${encodeURIComponent(id)}`, RunDetailSchema);
  if (flags.json) return out(JSON.stringify(run, null, 2)), EXIT.ok;
  out(banner(`RUN [${run.title}]${run.check ? ' (check mode)' : ''} id ${run.id} at ${run.createdAt}${run.label === 'corrective' ? ' (corrective)' : ''}`));
  for (const [host, h] of Object.entries(run.hosts)) {
    for (const r of h.results) out(taskLine(host, r, run.diff));
    if (h.status === 'unreachable') out(unreachableLine(host, h.error ?? 'unreachable'));
  }
  printRecap(run.recap);
  return EXIT.ok;
}
