import type { Command } from 'commander';
import type { EndpointFlags } from './client.js';
import { many, type Done } from './options.js';

type Flags = EndpointFlags & { json?: boolean; data?: string };

const trust = () => import('./trust-command.js');

/** `ctl controller init` and `ctl controller token create|revoke|list`. */
export function defineControllerTrust(controller: Command, done: Done): void {
  controller
    .command('init')
    .description('make the CA, the controller\'s TLS certificate and the first admin API token (shown once)')
    .option('--data <dir>', 'data folder (default .data/controller)')
    .option('--san <name>', 'a name or address the controller is reached by; repeat (default: this host, localhost, 127.0.0.1, ::1)', many)
    .option('--admin-token-file <file>', 'write the admin token to this new 0600 file instead of printing it')
    .action(async (_o, cmd: Command) => done(await (await import('./controller-init-command.js')).controllerInit(cmd.optsWithGlobals())));

  const token = controller
    .command('token')
    .description('named API tokens: through the controller\'s API, or with --data on its data folder (stopped, or it reads the change on its next request)')
    .usage('create|revoke|list [options]');
  token
    .command('create')
    .description('a new API token, printed once (only its hash is kept)')
    .argument('<name>', 'token name (letters, digits, _ . -)')
    .option('--data <dir>', 'act on this data folder instead of through the API')
    .option('--json', 'the answer as JSON')
    .action(async (name: string, _o, cmd: Command) => done(await (await trust()).tokenCreate(name, cmd.optsWithGlobals<Flags>())));
  token
    .command('revoke')
    .description('revoke an API token and end its health-page sessions')
    .argument('<name>', 'token name')
    .option('--data <dir>', 'act on this data folder instead of through the API')
    .action(async (name: string, _o, cmd: Command) => done(await (await trust()).tokenRevoke(name, cmd.optsWithGlobals<Flags>())));
  token
    .command('list')
    .description('API token names and when they were made')
    .option('--data <dir>', 'read this data folder instead of asking the API')
    .option('--json', 'the answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await trust()).tokenList(cmd.optsWithGlobals<Flags>())));
}

/** `ctl agents token|pending|accept|reject|revoke|certs`, as `salt-key` and `puppetserver ca` do. */
export function defineAgentTrust(agents: Command, done: Done): void {
  agents
    .command('token')
    .description('a one-time enrollment token for new agents, printed once')
    .option('--hosts <pattern>', 'hosts it may enroll (server[2:4], web*, a,b; default any)')
    .option('--ttl <duration>', 'how long it is valid: 90s, 30m, 1h, 7d (default 1h)')
    .option('--uses <n>', 'how many agents may enroll with it (default 1)')
    .option('--json', 'the answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await trust()).agentsToken(cmd.optsWithGlobals())));
  agents
    .command('pending')
    .description('enrollment requests waiting for accept or reject, with the requesting key\'s fingerprint')
    .option('--json', 'the answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await trust()).agentsPending(cmd.optsWithGlobals<Flags>())));
  for (const [verb, what] of [
    ['accept', 'sign the pending request of HOST'],
    ['reject', 'refuse the pending request of HOST (that key stays refused)'],
    ['revoke', 'revoke every certificate of HOST and cut its connection at once; kept across restarts'],
  ] as const) {
    agents
      .command(verb)
      .description(what)
      .argument('<host>', 'agent name')
      .action(async (host: string, _o, cmd: Command) => done(await (await trust()).agentsDecide(verb, host, cmd.optsWithGlobals<Flags>())));
  }
  agents
    .command('certs')
    .description('enrolled and revoked agents with serial and expiry, and enrollment requests')
    .option('--json', 'the answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await trust()).agentsCerts(cmd.optsWithGlobals<Flags>())));
}
