import type { Command, CommanderError } from 'commander';
import { CtlError, ERRORS, EXIT, isCtlError } from '../common/errors.js';
import { buildProgram } from './program.js';

/** A refused command line: printed with the usage line of the command it was meant for. */
class UsageError extends CtlError {
  constructor(
    detail: string,
    readonly usage: string,
  ) {
    super('CTL_ERR_USAGE', detail);
  }
}

/** Help was asked for and printed: not an error. */
class HelpShown {}

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Commander's own exits become ctl's: help is exit 0, anything refused (unknown option or
 * command, missing argument, a choice not offered, `cmd.error()` in an action) a usage error
 * with its exit code from common/errors.ts. Commander prints nothing of its own for those.
 */
function exitThroughErrorsList(cmd: Command): void {
  cmd.configureOutput({ outputError: () => {} });
  cmd.exitOverride((e: CommanderError) => {
    if (e.exitCode === 0) throw new HelpShown();
    // A command that needs a subcommand and got none: commander printed its help already.
    if (e.code === 'commander.help') throw new CtlError('CTL_ERR_USAGE', `${fullName(cmd)} needs a command (${cmd.commands.map((c) => c.name()).join(', ')})`);
    throw new UsageError(e.message.replace(/^error: /, ''), `usage: ${fullName(cmd)} ${cmd.usage()}  (${fullName(cmd)} --help)`);
  });
  for (const sub of cmd.commands) exitThroughErrorsList(sub);
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  exitThroughErrorsList(program);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof HelpShown) return EXIT.ok;
    throw e;
  }
  return code;
}

/** Runs ctl; resolves with the exit code once the command is done (`controller start`: on a signal). */
export async function cli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (e) {
    if (isCtlError(e)) {
      process.stderr.write(`ERROR! ${e.oneLine()}\n${e instanceof UsageError ? e.usage + '\n' : ''}`);
      return e.exitCode;
    }
    process.stderr.write(`ERROR! internal error: ${(e as Error).message}${process.env.CTL_DEBUG ? '\n' + (e as Error).stack : ' (set CTL_DEBUG=1 for details)'}\n`);
    return ERRORS.CTL_ERR_INTERNAL.exit;
  }
}
