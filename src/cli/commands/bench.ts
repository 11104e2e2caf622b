import type { Argv, CommandModule } from 'yargs';
import { BitNetError } from '../../errors.js';
import type { CliContext } from '../context.js';

interface BenchArgs {
  suite: string;
}

const SUITES = ['kernels', 'quant', 'train-step', 'generate'] as const;

export function benchCommand(ctx: CliContext): CommandModule<object, BenchArgs> {
  return {
    command: 'bench <suite>',
    describe: 'Run a benchmark suite (tables printed, JSON and markdown under bench/results/)',
    builder: (yargs: Argv) =>
      yargs
        .positional('suite', { type: 'string', choices: SUITES, demandOption: true })
        .example('$0 bench kernels', 'ternary kernels vs tfjs fp32 matMul and llama.cpp TQ2_0'),
    handler: async (args) => {
      // The benchmarks live outside src/ (bench/), compiled next to it in dist/.
      const path = new URL('../../../bench/run.js', import.meta.url);
      const bench = (await import(path.href).catch((cause: unknown) => {
        throw new BitNetError('UNSUPPORTED', 'benchmarks are not built', { hint: 'run from a clone after npm run build', cause });
      })) as { runBenches(names: string[]): Promise<void> };
      await bench.runBenches([args.suite]);
      ctx.io.out(`results: bench/results/${args.suite}.json`);
    },
  };
}
