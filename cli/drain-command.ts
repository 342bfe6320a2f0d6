import { DrainResponseSchema, StatusResponseSchema } from '../common/api.js';
import { CtlError, EXIT } from '../common/errors.js';
import { age } from '../common/age.js';
import { clientFor, type EndpointFlags } from './client.js';
import { drainProgress, progressText } from './drain-progress.js';
import { out } from './output.js';

export interface DrainFlags extends EndpointFlags {
  wait?: boolean;
  /** Milliseconds (cli/duration.ts). */
  timeout?: number;
  /** Between two looks at the directors while waiting. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `ctl drain HOST [--wait] [--timeout 5m]`: weight 0 for HOST in every virtual service of every
 * director (new connections go elsewhere, open ones finish), kept by the controller until
 * `ctl undrain`. With --wait, returns when no director has an active connection to it left.
 */
export async function drainCommand(host: string, flags: DrainFlags): Promise<number> {
  const c = await clientFor(flags);
  const r = await c.post('/api/drain', { host }, DrainResponseSchema);
  const sent = r.sentTo.length ? `sent to ${r.sentTo.join(', ')}` : 'no agent connected: directors get it when they connect';
  out(`${r.changed ? 'drained' : 'already drained'}: ${r.host} (${r.addresses.join(', ')}); ${sent}`);
  if (!flags.wait) return EXIT.ok;

  const timeout = flags.timeout ?? 300_000;
  const started = Date.now();
  let last = '';
  for (;;) {
    const p = drainProgress(await c.get('/api/status', StatusResponseSchema), r.addresses);
    if (p.done) {
      out(p.rows.length ? `${r.host}: no active connection left (${age(Date.now() - started)})` : `${r.host} is a real server of no director`);
      return EXIT.ok;
    }
    const text = progressText(p);
    if (Date.now() - started >= timeout) {
      const e = new CtlError('CTL_ERR_DRAIN_TIMEOUT', `${r.host} still busy after ${age(timeout)}: ${text}; it stays drained (ctl undrain ${r.host} to restore)`);
      process.stderr.write(`ERROR! ${e.oneLine()}\n`);
      return EXIT.drainTimeout;
    }
    if (text !== last) out(`waiting: ${text}`);
    last = text;
    await sleep(Math.min(flags.pollMs ?? 1000, Math.max(0, timeout - (Date.now() - started))));
  }
}

/** `ctl undrain HOST`: its declared weights come back wherever health allows. */
export async function undrainCommand(host: string, flags: EndpointFlags): Promise<number> {
  const r = await (await clientFor(flags)).delete(`/api/drain/${encodeURIComponent(host)}`, DrainResponseSchema);
  out(r.changed ? `undrained: ${r.host} (${r.addresses.join(', ')}); sent to ${r.sentTo.join(', ') || 'no connected agent'}` : `${r.host} was not drained`);
  return EXIT.ok;
}
