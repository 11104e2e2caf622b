import type { Argv, CommandModule } from 'yargs';
import { BACKEND_NAMES, type BackendName } from '../../backend.js';
import { formatTable } from '../../report/table.js';
import { runExperiment } from '../../recipe/experiment.js';
import type { CliContext } from '../context.js';
import { SIGNAL_EXIT_CODES, trapStopSignals } from '../signals.js';
import { cliReporter } from '../reporter.js';

interface ExperimentArgs {
  sweep: string;
  set: string[];
  overwrite: boolean;
  backend: BackendName | undefined;
  json: boolean;
}

export function experimentCommand(ctx: CliContext): CommandModule<object, ExperimentArgs> {
  return {
    command: 'experiment <sweep>',
    describe: 'Run a base recipe over variants or a grid and write a comparison table and plots',
    builder: (yargs: Argv) =>
      yargs
        .positional('sweep', { type: 'string', demandOption: true, describe: 'experiment JSON file' })
        .option('set', { type: 'string', array: true, default: [], describe: 'override a field in every run' })
        .option('overwrite', { type: 'boolean', default: false, describe: 'rerun finished variants' })
        .option('backend', { type: 'string', choices: BACKEND_NAMES })
        .option('json', { type: 'boolean', default: false })
        .example('$0 experiment recipes/experiments/mnist-groupsize.json', 'per-tensor vs group sizes 32..256')
        .example('$0 experiment recipes/experiments/mnist-groupsize.json --set train.steps=50', 'a quick version'),
    handler: async (args) => {
      const signals = trapStopSignals();
      try {
        const result = await runExperiment(args.sweep, {
          reporter: cliReporter(ctx.io, args.json),
          set: args.set,
          overwrite: args.overwrite,
          ...(args.backend === undefined ? {} : { backend: args.backend }),
          stop: signals.stop,
        });
        if (args.json) ctx.io.out(JSON.stringify(result));
        else {
          const rows = result.runs.map((r) => [
            r.name,
            r.status,
            (r.test_accuracy * 100).toFixed(2),
            r.modelBytes.toLocaleString('en-US'),
            r.trainSeconds.toFixed(1),
          ]);
          ctx.io.out(formatTable([['run', 'status', 'test acc %', 'model bytes', 'train s'], ...rows]));
          ctx.io.out(`comparison: ${result.dir}/comparison.md, report: ${result.dir}/report.html`);
        }
        const signal = signals.stop.requested;
        if (signal !== undefined) ctx.setExitCode(SIGNAL_EXIT_CODES[signal]);
      } finally {
        signals.release();
      }
    },
  };
}
