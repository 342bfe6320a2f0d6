import { ScheduleListSchema } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { out, table } from './output.js';

/** `ctl schedules`: the drift checks and enforcing runs the controller starts on a timer. */
export async function schedulesCommand(flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const list = await (await clientFor(flags)).get('/api/schedules', ScheduleListSchema);
  if (flags.json) return out(JSON.stringify(list, null, 2)), EXIT.ok;
  const rows = [['NAME', 'CRON', 'KIND', 'NEXT', 'LAST RUN', 'PLAYBOOK']];
  for (const s of list) rows.push([s.name, s.cron, s.check ? 'drift' : 'enforce', s.nextRun ?? '-', s.lastError ? `error: ${s.lastError}` : (s.lastRunId ?? '-'), s.playbook]);
  out(list.length ? table(rows) : 'no schedules (add schedules.yml to the project)');
  return EXIT.ok;
}
