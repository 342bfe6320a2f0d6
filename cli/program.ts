import { Argument, Command } from 'commander';
import { ERRORS, EXIT } from '../common/errors.js';
import type { EndpointFlags } from './client.js';
import { defineHealth } from './health-program.js';
import { defineLab } from './lab-program.js';
import { defineAgentTrust, defineControllerTrust } from './trust-program.js';
import { planOptions, runControlOptions, tcpPort, type Done } from './options.js';
import type { RunFlags } from './run-request.js';

type JsonFlags = EndpointFlags & { json?: boolean };

const EXIT_CODES = `
Exit codes: ${EXIT.ok} ok, ${EXIT.error} error, ${EXIT.hostFailed} a host failed, ${EXIT.hostUnreachable} a host unreachable,
  ${ERRORS.CTL_ERR_INVENTORY_PARSE.exit} bad inventory/role/playbook/arguments, ${ERRORS.CTL_ERR_USAGE.exit} bad options, ${EXIT.drift} drift found (ctl drift),
  ${EXIT.labNotRunning} no lab running (ctl lab status), ${ERRORS.CTL_ERR_CONTROLLER_LOST.exit} the controller went away during the run,
  ${ERRORS.CTL_ERR_HOSTS_BUSY.exit} a host busy with another run (--no-wait, --wait-timeout), ${ERRORS.CTL_ERR_RUN_CANCELLED.exit} the run was cancelled,
  ${EXIT.drainTimeout} connections still open at the timeout (ctl drain --wait),
  ${ERRORS.CTL_ERR_INTERNAL.exit} internal error.
Environment: LVSCTL_URL, LVSCTL_TOKEN or LVSCTL_TOKEN_FILE, LVSCTL_CA (the controller), LVSCTL_INVENTORY (default -i).
'ctl help COMMAND' or 'ctl COMMAND --help' shows a command's options.`;

/**
 * Every command, its options and its help. Actions load their command's file only when they
 * run, so that `ctl X --help` and the commands that do not need them never load the HTTP
 * client, zod or the controller.
 */
export function buildProgram(done: Done): Command {
  const program = new Command('ctl')
    .description('lvsctl: declare an LVS cluster once, have it built, verified and kept right')
    .option('--controller <url>', 'controller URL (default: $LVSCTL_URL, a running lab, https://127.0.0.1:7480 when .data/controller holds a CA, else http://)')
    .option('--token-file <file>', 'file holding the API token (default: $LVSCTL_TOKEN, $LVSCTL_TOKEN_FILE, a running lab\'s); never on the command line')
    .option('--ca <file>', 'CA certificate the controller\'s must chain to (default: $LVSCTL_CA, a running lab\'s, .data/controller/pki/ca.crt)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXIT_CODES);

  const controller = program.command('controller').description('the controller: HTTP API, agent hub, run history, schedules').usage('init|start|token [options]');
  defineControllerTrust(controller, done);
  controller
    .command('start')
    .description('serve the API and the agents over TLS (https/wss, one port) until SIGINT/SIGTERM')
    .option('--data <dir>', 'store, CA and tokens, made by ctl controller init (default .data/controller)')
    .option('--insecure-http', 'plain HTTP with one shared token (--token-file, $LVSCTL_TOKEN or DATA/token): a dev controller, never a real one')
    .option('--port <n>', 'TCP port (default 7480)', tcpPort)
    .option('--listen <addr>', 'address to listen on (default 127.0.0.1)')
    .option('--project <dir>', 'where roles/, inventories, playbooks and schedules.yml are (default: the current directory)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--keep-runs <n>', 'operator runs kept in history (default 200)')
    .option('--keep-days <d>', 'runs older than this are dropped (default 30)')
    .option('--keep-scheduled <n>', 'scheduled runs kept, apart from operator runs (default 200)')
    .option('--unresponsive-after <n>', 'missed heartbeats after which a connected agent shows as unresponsive (default 3)')
    .option('--drift-fix-interval <s>', 'least seconds between two corrective runs of a host (policy fix; default 60, doubling while drift recurs, up to 1 h)')
    .option('--metrics-token-file <file>', 'a file holding a second token that may read /metrics only (for a Prometheus scrape job)')
    // Loaded only here: the controller's dependencies would slow every other command.
    .action(async (_o, cmd: Command) => done(await (await import('./controller-command.js')).controllerStart(cmd.optsWithGlobals())));

  runControlOptions(
    planOptions(
      program
        .command('run')
        .description('apply one role to the hosts of a pattern, or a playbook, and print each task as it ends')
        .usage('role ROLE --hosts PATTERN [options] | playbook FILE [options]')
        .addArgument(new Argument('<kind>', 'what TARGET is').choices(['role', 'playbook']))
        .argument('<target>', 'the role name, or the playbook file'),
    )
      .option('-C, --check', 'check mode: report what would change, change nothing')
      .option('-D, --diff', 'show what changes as a diff'),
  )
    .action(async (kind: 'role' | 'playbook', target: string, _o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<RunFlags>();
      if (kind === 'role' && !(flags.hosts ?? flags.limit)) cmd.error('ctl run role needs --hosts PATTERN');
      done(await (await import('./run-command.js')).runCommand(kind, target, flags));
    });

  planOptions(program.command('lint').description('the cluster check alone: every host rendered, nothing pushed').argument('[playbook]', 'default site.yml'))
    .option('--json', 'the result as JSON')
    .action(async (target: string | undefined, _o, cmd: Command) => done(await (await import('./lint-command.js')).lintCommand(target, cmd.optsWithGlobals())));

  runControlOptions(
    planOptions(
      program
        .command('drift')
        .description(`open drift findings of the desired state the controller holds (the agents watch it), or with a playbook that playbook in check mode with diffs; exit ${EXIT.drift} when a host drifted`)
        .argument('[playbook]', 'check this playbook now instead of showing the held state\'s findings'),
    )
      // Accepted as ansible-playbook users type them; drift always checks and diffs.
      .option('-C, --check', 'always on for drift')
      .option('-D, --diff', 'always on for drift')
      .option('--history', 'resolved findings instead of open ones (held state)')
      .option('--json', 'the API answer as JSON (held state)'),
  ).action(async (target: string | undefined, _o, cmd: Command) => {
    const flags = cmd.optsWithGlobals();
    if (target === undefined) return done(await (await import('./drift-command.js')).heldDrift(flags));
    if (flags.history) cmd.error('--history shows the held state\'s findings; it takes no playbook');
    done(await (await import('./run-command.js')).driftCommand(target, flags));
  });

  const agents = program
    .command('agents')
    .description('every agent: online state, heartbeat age, address, OS, kernel, certificate expiry; pending and revoked ones')
    .option('--json', 'the API answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await import('./agents-command.js')).agentsCommand(cmd.optsWithGlobals<JsonFlags>())));
  agents
    .command('forget')
    .description('drop a gone agent\'s record and slot ledger (refused while it is connected)')
    .argument('<host>', 'agent name')
    .action(async (host: string, _o, cmd: Command) => done(await (await import('./agents-command.js')).agentsForget(host, cmd.optsWithGlobals<JsonFlags>())));
  defineAgentTrust(agents, done);

  const runs = program
    .command('runs')
    .description('the run history, newest first; `runs show ID` for one run')
    .option('--json', 'the API answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await import('./runs-command.js')).runsList(cmd.optsWithGlobals<JsonFlags>())));
  runs
    .command('show')
    .description('one run: every task per host and the recap')
    .argument('<id>', 'run id (a unique prefix is enough)')
    .action(async (id: string, _o, cmd: Command) => done(await (await import('./runs-command.js')).runsShow(id, cmd.optsWithGlobals<JsonFlags>())));
  runs
    .command('cancel')
    .description('stop a run: running tasks at their next task boundary (--now: killed), the rest skipped')
    .argument('<id>', 'run id (a unique prefix is enough)')
    .option('--now', 'kill the running tasks instead of letting them finish')
    .action(async (id: string, _o, cmd: Command) => done(await (await import('./runs-command.js')).runsCancel(id, cmd.optsWithGlobals<JsonFlags & { now?: boolean }>())));

  program
    .command('schedules')
    .description('drift checks and enforcing runs the controller starts on a timer (schedules.yml)')
    .option('--json', 'the API answer as JSON')
    .action(async (_o, cmd: Command) => done(await (await import('./schedules-command.js')).schedulesCommand(cmd.optsWithGlobals<JsonFlags>())));

  defineHealth(program, done);
  defineLab(program.command('lab'), done);
  return program;
}
