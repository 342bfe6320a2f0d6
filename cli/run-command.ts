import { RunStartedSchema, RunStreamEventSchema, type Recap, type RunDetail } from '../common/api.js';
import { CtlError, EXIT, isCtlError } from '../common/errors.js';
import { clientFor, type Client } from './client.js';
import { banner, out, printRecap, taskLine, unreachableLine, waitingLine } from './output.js';
import { runBody, type RunFlags } from './run-request.js';

/** `ctl run role|playbook TARGET`: starts the run, prints each task as it ends, then the recap. */
export async function runCommand(kind: 'role' | 'playbook', target: string, flags: RunFlags, recapOut: Record<string, Recap> = {}): Promise<number> {
  const c = await clientFor(flags);
  const started = await c.post('/api/runs', runBody(kind, target, flags), RunStartedSchema);
  out(banner(`RUN [${started.title}]${flags.check ? ' (check mode)' : ''} id ${started.id}`));
  const { recap, run } = await watch(c, started.id, !!flags.diff);
  Object.assign(recapOut, recap);
  printRecap(recap);
  if (run?.stopped) throw new CtlError(run.stopped.code, `run ${run.id}: ${run.stopped.message}`);
  return exitForRecap(recap);
}

/**
 * The exit code of a run's recap. As in ansible-playbook, an unreachable host wins over a failed
 * one: a host given up at its job deadline may also carry the failed result of the task its
 * agent stopped at the same moment, and it is still unreachable.
 */
export function exitForRecap(recap: Record<string, Recap>): number {
  const totals = Object.values(recap);
  if (totals.some((r) => r.unreachable > 0)) return EXIT.hostUnreachable;
  if (totals.some((r) => r.failed > 0)) return EXIT.hostFailed;
  return EXIT.ok;
}

/**
 * Prints a run's events until its end. A stream cut before the recap means the controller went
 * away: one line saying so (the agents go on; the record is completed when it is back).
 */
export async function watch(c: Client, id: string, diff: boolean): Promise<{ recap: Record<string, Recap>; run?: RunDetail | Omit<RunDetail, 'recap'> }> {
  let recap: Record<string, Recap> | undefined;
  let run: Omit<RunDetail, 'recap'> | undefined;
  const lost = (why: string) =>
    new CtlError('CTL_ERR_CONTROLLER_LOST', `the controller at ${c.ep.url} went away while run ${id} was going (${why}); the agents finish their tasks on their own and the run is completed from their journals when it is back: ctl runs show ${id}`);
  try {
    await c.stream(`/api/runs/${id}/events`, RunStreamEventSchema, (ev) => {
      if (ev.type === 'result') out(taskLine(ev.host, ev.result, diff));
      else if (ev.type === 'host' && ev.status === 'unreachable') out(unreachableLine(ev.host, ev.error ?? 'unreachable'));
      else if (ev.type === 'waiting') out(waitingLine(ev.host, ev.run));
      else if (ev.type === 'end') run = ev.run;
      else if (ev.type === 'recap') recap = ev.recap;
    });
  } catch (e) {
    if (isCtlError(e) && e.code === 'CTL_ERR_CONTROLLER_LOST') throw lost(e.message);
    throw e;
  }
  if (!recap) throw lost('the event stream ended before the run did');
  return { recap, run };
}

/**
 * `ctl drift [PLAYBOOK]`: the playbook in check mode with diffs. Exit 0 when every host is as
 * declared, 6 when something drifted (2 and 3 keep their meaning: failed, unreachable).
 */
export async function driftCommand(target: string | undefined, flags: RunFlags): Promise<number> {
  const recap: Record<string, Recap> = {};
  const code = await runCommand('playbook', target ?? 'site.yml', { ...flags, check: true, diff: true }, recap);
  if (code !== EXIT.ok) return code;
  const drifted = Object.entries(recap).filter(([, r]) => r.changed > 0);
  out(drifted.length ? `DRIFT on ${drifted.map(([h, r]) => `${h} (${r.changed})`).join(', ')}` : 'no drift: every host is as declared');
  return drifted.length ? EXIT.drift : EXIT.ok;
}
