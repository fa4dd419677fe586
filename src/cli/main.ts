// The atlas-ops CLI: one program, a subcommand per operator action, all ending the same way on error.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config';
import { DurationError } from '../workflow-safe/duration';
import { NotSqliteError } from '../db/sqlite';
import { TemporalUnreachableError } from '../temporal/connect';
import { actionFor, type Run } from './action';
import { terminalText } from './terminal-text';
import { EXIT, UsageError, closeClients, globals } from './common';
import { registerCommands } from './commands';

/** An error for stderr: its own lines kept (a server's log tail), each with its controls escaped. */
const errorText = (message: string) => terminalText(message.split('\n'));

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof DurationError || err instanceof NotSqliteError) return EXIT.usage;
  if (err instanceof TemporalUnreachableError) return EXIT.unreachable;
  return EXIT.failed;
}

/** Wraps an action: runs it, closes connections, and exits with its code (or the error's). */
const run: Run = (body) => {
  return async (...args: unknown[]) => {
    // Commander passes the command last, after the arguments and the options.
    const cmd = args[args.length - 1] as Command;
    let code: number;
    try {
      code = await body(actionFor(cmd));
    } catch (err) {
      code = exitCodeOf(err);
      const json = globals(cmd).json;
      const message = (err as Error).message;
      if (json) process.stdout.write(`${JSON.stringify({ error: message, exitCode: code })}\n`);
      process.stderr.write(`atlas-ops: ${errorText(message)}\n`);
    }
    await closeClients();
    process.exit(code);
  };
};

export function buildProgram(): Command {
  const program = new Command('atlas-ops')
    .description('The Atlas runbook as durable Temporal workflows')
    .option('--home <dir>', 'Atlas home (default: $ATLAS_HOME, else /opt/atlas; `dev` uses ./.atlas)')
    .option('--config <file>', 'configuration file (default: <home>/config/atlas-ops.json)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  program.addHelpText('after', '\nExit codes: 0 ok, 1 failed, 2 bad input (nothing changed), 3 procedure aborted or rolled back, 4 Temporal unreachable.');
  registerCommands(program, run);
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`atlas-ops: ${errorText(err.message)}\n`);
      process.exit(EXIT.usage);
    }
    throw err;
  }
}
