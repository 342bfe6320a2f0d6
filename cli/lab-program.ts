import { Argument, Option, type Command } from 'commander';
import { EXIT } from '../common/errors.js';
import { LAB_MODES } from '../lab/modes.js';
import { GUEST_ROOT, LAB_HOST_NAMES } from '../lab/topology.js';
import { tcpPort, type Done } from './options.js';
import type { RunFlags } from './run-request.js';

const lab = () => import('./lab-command.js');

/** `ctl lab ...`: the subcommands; their work is in cli/lab-command.ts, loaded when one runs. */
export function defineLab(cmd: Command, done: Done): void {
  cmd
    .description('the real-kernel lab: the reference cluster in a qemu guest on this machine')
    .usage('up|status|down|exec|demo [options]');
  const mode = () => new Option('--mode <mode>', 'forwarding method of the cluster').choices(LAB_MODES);

  cmd
    .command('up')
    .description('install what is missing, boot or reuse the lab, wait for its 4 agents')
    .addOption(mode())
    .option('--port <n>', "the lab controller's port on 127.0.0.1 (default 7480)", tcpPort)
    .action(async (o: { mode?: (typeof LAB_MODES)[number]; port?: number }) => done(await (await lab()).up(o)));

  cmd
    .command('status')
    .description(`guest pid and uptime, controller URL, agents (exit ${EXIT.labNotRunning} when no lab is running)`)
    .action(async () => done(await (await lab()).status()));

  cmd
    .command('down')
    .description('stop the guest and the lab controller; the kernel cache stays')
    .action(async () => done(await (await lab()).down()));

  cmd
    .command('exec')
    .description('run a command on a lab host; exits with its exit code')
    .usage('HOST -- CMD [ARGS...]')
    .addArgument(new Argument('<host>', 'lab host').choices([...LAB_HOST_NAMES, GUEST_ROOT]))
    .argument('<cmd...>', 'the command and its arguments, after -- so that ctl reads none of them')
    // Without `--`, the command's own options (`ipvsadm -ln`) are the command's, not ctl's.
    .allowUnknownOption()
    .action(async (host: string, argv: string[]) => done(await (await lab()).execCmd(host, argv)));

  cmd
    .command('demo')
    .description('lab up, site.yml for that mode, then curl the VIP 6 times from the client (npm start)')
    .addOption(mode())
    .action(async (o: { mode?: (typeof LAB_MODES)[number] }, c: Command) => {
      const [{ labDemo }, { runCommand }, { up }] = await Promise.all([import('./lab-demo.js'), import('./run-command.js'), lab()]);
      const globals = c.optsWithGlobals<RunFlags>();
      done(await labDemo(o, (kind, target, flags) => runCommand(kind, target, { controller: globals.controller, tokenFile: globals.tokenFile, ca: globals.ca, ...flags }), up));
    });
}
