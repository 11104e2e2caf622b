import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BitNetError } from '../../errors.js';
import { exportGguf, GGUF_EXPORT_TYPES, type GgufExportType } from '../../formats/gguf/model-export.js';
import { loadModel } from '../../formats/tfjs-fs.js';
import { writeBitnetGguf } from '../../formats/gguf/bitnet-write.js';
import { lmMetadataOf, lmWeightsOf } from '../../models/bitnet/tfjs.js';
import { ByteTokenizer } from '../../tokenizer/byte-tokenizer.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../report/table.js';

interface ExportArgs {
  source: string;
  format: 'gguf';
  type: GgufExportType;
  out: string;
  scaleTensors: boolean;
  json: boolean;
}

/** A run folder exports its final/ model; a folder with model.json exports itself. */
export function resolveModelDir(source: string): string {
  if (existsSync(join(source, 'model.json'))) return source;
  if (existsSync(join(source, 'final', 'model.json'))) return join(source, 'final');
  throw new BitNetError('FILE_NOT_FOUND', `no model in ${source}`, { field: 'source', hint: 'give a run folder with final/, or a folder with model.json' });
}

export function exportCommand(ctx: CliContext): CommandModule<object, ExportArgs> {
  return {
    command: 'export <source>',
    describe: 'Export a trained model (run folder or model folder) to GGUF',
    builder: (yargs: Argv) =>
      yargs
        .positional('source', { type: 'string', demandOption: true })
        .option('format', { type: 'string', choices: ['gguf'], default: 'gguf' })
        .option('type', { type: 'string', choices: GGUF_EXPORT_TYPES, default: 'tq2_0', describe: 'ternary weights as TQ2_0/TQ1_0, or everything as F16/F32' })
        .option('out', { type: 'string', demandOption: true, describe: 'output .gguf file' })
        .option('scale-tensors', { type: 'boolean', default: false, describe: 'd = 1 in the blocks and the exact f32 beta in <name>.scale tensors' })
        .option('json', { type: 'boolean', default: false })
        .example('$0 export runs/mnist-mlp-bitnet --type tq2_0 --out mlp.gguf', 'ternary layers as TQ2_0') as unknown as Argv<ExportArgs>,
    handler: async (args) => {
      const dir = resolveModelDir(args.source);
      const model = await loadModel(dir);
      if (lmMetadataOf(model) !== undefined) {
        if (args.type !== 'tq2_0' && args.type !== 'tq1_0')
          throw new BitNetError('UNSUPPORTED', 'a BitNet LM exports as tq2_0 or tq1_0 (llama.cpp bitnet architecture)', { field: 'type' });
        const weights = lmWeightsOf(model);
        model.dispose();
        await writeBitnetGguf(args.out, weights, new ByteTokenizer().ggufVocabulary(), { type: args.type, scaleTensors: args.scaleTensors, name: model.name });
        ctx.io.out(
          args.json
            ? JSON.stringify({ path: args.out, architecture: 'bitnet', config: weights.config })
            : `wrote ${args.out} (llama.cpp bitnet architecture, ${args.type.toUpperCase()})`,
        );
        return;
      }
      const report = await exportGguf(model, args.out, { type: args.type, scaleTensors: args.scaleTensors, warn: (m) => ctx.io.err(`bitnet: warning: ${m}`) });
      if (args.json) ctx.io.out(JSON.stringify(report));
      else {
        ctx.io.out(formatTable([['tensor', 'type', 'dims'], ...report.tensors.map((t) => [t.name, t.type, JSON.stringify(t.dims)])]));
        ctx.io.out(`wrote ${args.out}`);
      }
    },
  };
}
