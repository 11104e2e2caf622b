import yargs from 'yargs';
import { BitNetError } from '../errors.js';
import '../../adapters/index.js';
import { benchCommand } from './commands/bench.js';
import { experimentCommand } from './commands/experiment.js';
import { exportCommand } from './commands/export.js';
import { evalCommand } from './commands/eval.js';
import { generateCommand } from './commands/generate.js';
import { kernelsCommand } from './commands/kernels.js';
import { inspectCommand } from './commands/inspect.js';
import { quantizeCommand } from './commands/quantize.js';
import { runCommand } from './commands/run.js';
import { schemaCommand } from './commands/schema.js';
import { validateCommand } from './commands/validate.js';
import type { CliContext } from './context.js';
import { processIo, type CliIo } from './io.js';

/** Exit codes: 0 ok, 1 internal error, 2 user error (bad arguments, config, input). */
export const EXIT = { ok: 0, internal: 1, user: 2 } as const;

function describeFailure(error: unknown, io: CliIo): number {
  if (error instanceof BitNetError) {
    io.err(`bitnet: ${error.format()}`);
    return error.isUserError ? EXIT.user : EXIT.internal;
  }
  io.err(`bitnet: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT.internal;
}

/** Runs the CLI in-process and returns the exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const ctx: CliContext = { io, setExitCode: (code) => (exitCode = code) };
  const cli = yargs([...argv])
    .scriptName('bitnet')
    .command(runCommand(ctx))
    .command(validateCommand(ctx))
    .command(inspectCommand(ctx))
    .command(experimentCommand(ctx))
    .command(quantizeCommand(io))
    .command(schemaCommand(ctx))
    .command(exportCommand(ctx))
    .command(generateCommand(ctx))
    .command(evalCommand(ctx))
    .command(kernelsCommand(ctx))
    .command(benchCommand(ctx))
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error !== undefined && error !== null) throw error;
      throw new BitNetError('INVALID_ARGUMENT', message, { hint: `see 'bitnet ${argv[0] ?? ''} --help'`.replace('  ', ' ') });
    });
  try {
    let helpText: string | undefined;
    await cli.parseAsync([...argv], {}, (_err, _argv, output) => {
      if (output !== '') helpText = output;
    });
    if (helpText !== undefined) io.out(helpText);
    return exitCode;
  } catch (error) {
    return describeFailure(error, io);
  }
}
