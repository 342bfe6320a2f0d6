import { RunCancelResponseSchema, RunDetailSchema, RunListSchema, type Recap } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { banner, out, printRecap, table, taskLine, unreachableLine } from './output.js';
import { watch } from './run-command.js';

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
    for (const r of h.results) out(taskLine(host, r, run.diff) + (r.recovered ? ' (recovered from the agent\'s journal)' : ''));
    if (h.status === 'unreachable') out(unreachableLine(host, h.error ?? 'unreachable'));
    else if (h.error) out(`note: [${host}] ${h.error}`);
  }
  printRecap(run.recap);
  if (run.stopped) out(`${run.status}: ${run.stopped.message}`);
  return EXIT.ok;
}

/**
 * `ctl runs cancel ID [--now]`: stops a run (running tasks at their next task boundary, or
 * killed with --now; the rest skipped) and waits for its end. Exit 0 once it has ended.
 */
export async function runsCancel(id: string, flags: Flags & { now?: boolean }): Promise<number> {
  const c = await clientFor(flags);
  const r = await c.post(`/api/runs/${encodeURIComponent(id)}/cancel`, { now: !!flags.now }, RunCancelResponseSchema);
  out(`cancelling run ${r.id}${flags.now ? ' (running tasks killed)' : ' (running tasks stop at their next task boundary)'}`);
  const { recap } = await watch(c, r.id, false);
  printRecap(recap);
  out(`run ${r.id} cancelled`);
  return EXIT.ok;
}
