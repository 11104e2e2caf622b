import type { Argv, CommandModule } from 'yargs';
import { inspectPath } from '../../inspect/inspect.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../report/table.js';

interface InspectArgs {
  path: string;
  json: boolean;
  stats: boolean;
}

export function inspectCommand(ctx: CliContext): CommandModule<object, InspectArgs> {
  return {
    command: 'inspect <path>',
    describe: 'Describe a recipe, experiment, run folder, checkpoint, adapter, tfjs model, safetensors or GGUF file',
    builder: (yargs: Argv) =>
      yargs
        .positional('path', { type: 'string', demandOption: true })
        .option('json', { type: 'boolean', default: false })
        .option('stats', { type: 'boolean', default: false, describe: 'per-tensor statistics (GGUF): min, max, mean, std, zeros' })
        .example('$0 inspect model.gguf --stats', 'metadata, tensors, bits per weight, statistics')
        .example('$0 inspect runs/mnist-mlp-bitnet', 'summary, checkpoints and last metrics of a run')
        .example('$0 inspect runs/mnist-mlp-bitnet/final/adapters/0-lora', 'a saved adapter'),
    handler: async (args) => {
      const result = await inspectPath(args.path, { stats: args.stats });
      if (args.json) {
        ctx.io.out(JSON.stringify({ kind: result.kind, path: result.path, ...result.data }));
        return;
      }
      ctx.io.out(`${result.kind}: ${result.path}`);
      for (const section of result.sections) {
        ctx.io.out(`\n${section.title}`);
        if (section.rows.length > 0)
          ctx.io.out(
            section.rows.length > 1 && section.rows[0]?.[0] === 'name' ? formatTable(section.rows) : section.rows.map((r) => `  ${r.join('  ')}`).join('\n'),
          );
      }
    },
  };
}
