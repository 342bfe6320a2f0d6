import type { Command } from 'commander';
import { EXIT } from '../common/errors.js';
import type { EndpointFlags } from './client.js';
import { duration } from './duration.js';
import type { Done } from './options.js';

type Flags = EndpointFlags & { json?: boolean };

/** Real-server health: `ctl status`, `ctl events`, `ctl drain HOST`, `ctl undrain HOST`. */
export function defineHealth(program: Command, done: Done): void {
  program
    .command('status')
    .description('every agent (state, roles, drift, last run), every director (virtual services, real servers with declared and live weight, health, last check, connections), open drift findings')
    .option('--json', 'the API answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await import('./status-command.js')).statusCommand(cmd.optsWithGlobals<Flags>())));

  program
    .command('events')
    .description('health transitions the directors reported (up/down with the reason, drain, quorum, sorry server), oldest first')
    .option('--host <director>', 'only this director\'s')
    .option('--limit <n>', 'the newest N (default 100)')
    .option('--json', 'the API answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await import('./events-command.js')).eventsCommand(cmd.optsWithGlobals())));

  program
    .command('drain')
    .description('weight 0 for HOST in every virtual service of every director, kept until undrain (runs do not undo it)')
    .argument('<host>', 'an agent name (its addresses) or an IPv4 address')
    .option('--wait', `return when no director has an active connection to HOST left (exit ${EXIT.drainTimeout} at the timeout)`)
    .option('--timeout <duration>', 'how long --wait waits: 90, 30s, 5m, 1h (default 5m)', duration)
    .action(async (host: string, _o, cmd: Command) => done(await (await import('./drain-command.js')).drainCommand(host, cmd.optsWithGlobals())));

  program
    .command('undrain')
    .description('give a drained HOST its declared weights back (where health allows)')
    .argument('<host>', 'as given to drain')
    .action(async (host: string, _o, cmd: Command) => done(await (await import('./drain-command.js')).undrainCommand(host, cmd.optsWithGlobals())));
}
