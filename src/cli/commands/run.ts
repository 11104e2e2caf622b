import type { Argv, CommandModule } from 'yargs';
import { BACKEND_NAMES, type BackendName } from '../../backend.js';
import { loadRecipe } from '../../recipe/load.js';
import { runRecipe, type RunSummary } from '../../recipe/run.js';
import type { CliContext } from '../context.js';
import { SIGNAL_EXIT_CODES, trapStopSignals } from '../signals.js';
import { cliReporter } from '../reporter.js';

interface RunArgs {
  recipe: string;
  set: string[];
  resume: boolean;
  overwrite: boolean;
  backend: BackendName | undefined;
  json: boolean;
}

/** The one-line result of a run; a run stopped before any evaluation says so instead of NaN. */
export function summaryLine(summary: RunSummary): string {
  const evaluated = Number.isFinite(summary.test_loss);
  const evaluation = evaluated
    ? `test accuracy ${(summary.test_accuracy * 100).toFixed(2)}%, test loss ${summary.test_loss.toFixed(4)}`
    : 'not evaluated yet (stopped before its evaluation)';
  return (
    `${summary.status} ${summary.name}: ${summary.steps}/${summary.totalSteps} steps on ${summary.backend} in ${summary.trainSeconds.toFixed(1)} s; ` +
    `${evaluation}; deployed size ${summary.modelBytes.toLocaleString('en-US')} bytes`
  );
}

export function runCommand(ctx: CliContext): CommandModule<object, RunArgs> {
  return {
    command: 'run <recipe>',
    describe: 'Train as a JSON recipe says: checkpoints, metrics.jsonl, report.html, final model',
    builder: (yargs: Argv) =>
      yargs
        .positional('recipe', { type: 'string', demandOption: true, describe: 'recipe JSON file' })
        .option('set', { type: 'string', array: true, default: [], describe: 'override a field: --set train.lr=0.002 (repeatable)' })
        .option('resume', { type: 'boolean', default: false, describe: 'continue from the newest complete checkpoint' })
        .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing run folder' })
        .option('backend', { type: 'string', choices: BACKEND_NAMES, describe: "override the recipe's backend" })
        .option('json', { type: 'boolean', default: false, describe: 'print the run summary as JSON (no progress output)' })
        .example('$0 run recipes/mnist-mlp-bitnet.json', 'train a BitNet MLP on MNIST digits')
        .example('$0 run recipes/mnist-mlp-fp32.json --set train.epochs=2 --backend cpu', 'a shorter fp32 baseline on the cpu backend')
        .example('$0 run recipes/mnist-mlp-bitnet.json --resume', 'continue an interrupted run'),
    handler: async (args) => {
      const recipe = loadRecipe(args.recipe, { set: args.set });
      const signals = trapStopSignals();
      try {
        const summary = await runRecipe(recipe, {
          reporter: cliReporter(ctx.io, args.json),
          resume: args.resume,
          overwrite: args.overwrite,
          ...(args.backend === undefined ? {} : { backend: args.backend }),
          stop: signals.stop,
        });
        if (args.json) ctx.io.out(JSON.stringify(summary));
        else {
          ctx.io.out(summaryLine(summary));
          ctx.io.out(`run folder: ${summary.dir} (report.html, metrics.jsonl${summary.status === 'completed' ? ', final/' : ''})`);
        }
        if (summary.signal !== undefined) ctx.setExitCode(SIGNAL_EXIT_CODES[summary.signal]);
      } finally {
        signals.release();
      }
    },
  };
}
