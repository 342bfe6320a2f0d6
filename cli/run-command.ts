import { RunStartedSchema, RunStreamEventSchema, type Recap } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor } from './client.js';
import { banner, out, printRecap, taskLine, unreachableLine } from './output.js';
import { runBody, type RunFlags } from './run-request.js';

/** `ctl run role|playbook TARGET`: starts the run, prints each task as it ends, then the recap. */
export async function runCommand(kind: 'role' | 'playbook', target: string, flags: RunFlags, recapOut: Record<string, Recap> = {}): Promise<number> {
  const c = await clientFor(flags);
  const started = await c.post('/api/runs', runBody(kind, target, flags), RunStartedSchema);
  out(banner(`RUN [${started.title}]${flags.check ? ' (check mode)' : ''} id ${started.id}`));
  let recap: Record<string, Recap> = {};
  await c.stream(`/api/runs/${started.id}/events`, RunStreamEventSchema, (ev) => {
    if (ev.type === 'result') out(taskLine(ev.host, ev.result, !!flags.diff));
    else if (ev.type === 'host' && ev.status === 'unreachable') out(unreachableLine(ev.host, ev.error ?? 'unreachable'));
    else if (ev.type === 'recap') recap = ev.recap;
  });
  Object.assign(recapOut, recap);
  printRecap(recap);
  const totals = Object.values(recap);
  if (totals.some((r) => r.failed > 0)) return EXIT.hostFailed;
  if (totals.some((r) => r.unreachable > 0)) return EXIT.hostUnreachable;
  return EXIT.ok;
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
