import { HealthEventListSchema, type HealthEvent } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { out } from './output.js';

/** One transition: `2024-05-01T12:00:01.200Z server2 tcp:172.25.7.200:80 172.25.7.3:80 up -> down: connect refused`. */
export function eventLine(e: HealthEvent): string {
  const what = 'realServer' in e ? `${e.service} ${e.realServer}` : e.service;
  const extra = e.kind === 'quorum' ? ` (live weight ${e.liveWeight}, quorum ${e.quorum}${e.hysteresis ? `, hysteresis ${e.hysteresis}` : ''})` : e.kind === 'realserver' ? ` (check ${Math.round(e.checkMs)} ms)` : '';
  return `${new Date(e.at).toISOString()}  ${e.host}  ${what}  ${e.from} -> ${e.to}: ${e.reason}${extra}`;
}

/** `ctl events [--host H] [--limit N]`: the directors' health transitions, oldest first. */
export async function eventsCommand(flags: EndpointFlags & { json?: boolean; host?: string; limit?: string }): Promise<number> {
  const q = new URLSearchParams({ limit: flags.limit ?? '100', ...(flags.host ? { host: flags.host } : {}) });
  const events = await (await clientFor(flags)).get(`/api/events?${q}`, HealthEventListSchema);
  if (flags.json) return out(JSON.stringify(events, null, 2)), EXIT.ok;
  out(events.length ? events.map(eventLine).join('\n') : 'no health transition yet');
  return EXIT.ok;
}
