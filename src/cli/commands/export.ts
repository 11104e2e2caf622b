import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { getPeftModel } from '../../adapter/peft.js';
import type { PeftModel } from '../../adapter/peft-model.js';
import type { HfLinearClass } from '../../formats/hf-bitnet.js';
import { exportHfPretrained } from '../../formats/hf-export.js';
import { writeLlamaGguf } from '../../formats/gguf/llama-gguf.js';
import { hfRunSource, isHfDir, loadHfLanguageModel } from '../../inference/hf-lm.js';
import { llamaLmWeights } from '../../models/llama/weights.js';
import { ggufVocabularyFromHf } from '../../tokenizer/hf-gguf-vocabulary.js';
import type { Argv, CommandModule } from 'yargs';
import { BitNetError } from '../../errors.js';
import { exportGguf, GGUF_EXPORT_TYPES, type GgufExportType } from '../../formats/gguf/model-export.js';
import { loadModel } from '../../formats/tfjs-fs.js';
import { writeBitnetGguf } from '../../formats/gguf/bitnet-write.js';
import { lmMetadataOf, lmWeightsOf } from '../../models/bitnet/tfjs.js';
import { mergeLowRank, type LowRankMergeReport } from '../../models/bitnet/merge-low-rank.js';
import type { BitnetLmWeights } from '../../models/bitnet/weights.js';
import { hasLowRank, writeLoraGguf } from '../../formats/gguf/lora-gguf.js';
import { ByteTokenizer } from '../../tokenizer/byte-tokenizer.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../report/table.js';

interface ExportArgs {
  source: string;
  format: 'gguf' | 'hf';
  linearClass: HfLinearClass;
  quantizationMode: 'offline' | 'online';
  type: GgufExportType;
  out: string;
  scaleTensors: boolean;
  adapter?: 'merge' | 'separate';
  adapterOut?: string;
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
    describe: 'Export a trained model (run folder, model folder, or HF model folder) to GGUF or a HuggingFace folder',
    builder: (yargs: Argv) =>
      yargs
        .positional('source', { type: 'string', demandOption: true })
        .option('format', {
          type: 'string',
          choices: ['gguf', 'hf'],
          default: 'gguf',
          describe: 'hf: a folder transformers loads (runs of hf recipes, HF folders)',
        })
        .option('linear-class', {
          type: 'string',
          choices: ['bitlinear', 'autobitlinear'],
          default: 'bitlinear',
          describe: "--format hf: transformers' BitLinear or AutoBitLinear",
        })
        .option('quantization-mode', {
          type: 'string',
          choices: ['offline', 'online'],
          default: 'offline',
          describe: '--format hf: packed ternary weights, or the latent weights with online quantization (autobitlinear; continue the QAT in PyTorch)',
        })
        .option('type', { type: 'string', choices: GGUF_EXPORT_TYPES, default: 'tq2_0', describe: 'ternary weights as TQ2_0/TQ1_0, or everything as F16/F32' })
        .option('out', { type: 'string', demandOption: true, describe: 'output .gguf file (or folder, --format hf)' })
        .option('scale-tensors', { type: 'boolean', default: false, describe: 'd = 1 in the blocks and the exact f32 beta in <name>.scale tensors' })
        .option('adapter', {
          type: 'string',
          choices: ['merge', 'separate'],
          describe:
            'a model with an unmerged LoRA adapter: merge it into the ternary weights (re-quantized), or write it as a llama.cpp LoRA GGUF beside the base',
        })
        .option('adapter-out', { type: 'string', describe: '--adapter separate: the adapter file (default: <out>.lora.gguf)' })
        .option('json', { type: 'boolean', default: false })
        .example('$0 export runs/mnist-mlp-bitnet --type tq2_0 --out mlp.gguf', 'ternary layers as TQ2_0')
        .example('$0 export runs/lm-lora --out base.gguf --adapter separate', 'the base GGUF and base.lora.gguf (llama.cpp --lora)')
        .example('$0 export runs/hf-to-bitnet --out model.gguf', "a converted HF model in llama.cpp's own architecture")
        .example(
          '$0 export runs/hf-to-bitnet --format hf --out model-bitnet',
          'the same for transformers (BitNet quantization_config)',
        ) as unknown as Argv<ExportArgs>,
    handler: async (args) => {
      if (isHfDir(args.source) || hfRunSource(args.source) !== undefined) {
        await exportHfLanguageModel(ctx, args);
        return;
      }
      if (args.format === 'hf') {
        throw new BitNetError('UNSUPPORTED', '--format hf exports converted HF models (runs of hf recipes, HF folders)', {
          field: 'format',
          hint: 'BitNet LMs of this toolkit: exportHfBitnet from the library; other models: --format gguf',
        });
      }
      const dir = resolveModelDir(args.source);
      const model = await loadModel(dir);
      if (lmMetadataOf(model) !== undefined) {
        if (args.type !== 'tq2_0' && args.type !== 'tq1_0')
          throw new BitNetError('UNSUPPORTED', 'a BitNet LM exports as tq2_0 or tq1_0 (llama.cpp bitnet architecture)', { field: 'type' });
        const weights = lmWeightsOf(model);
        model.dispose();
        await exportBitnetLm(ctx, { ...args, type: args.type }, weights, model.name);
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

/** A BitNet LM of this toolkit as llama.cpp's bitnet GGUF; an unmerged LoRA adapter merged or written beside it, as --adapter says. */
async function exportBitnetLm(ctx: CliContext, args: ExportArgs & { type: 'tq2_0' | 'tq1_0' }, lm: BitnetLmWeights, name: string): Promise<void> {
  let weights = lm;
  let merge: LowRankMergeReport | undefined;
  let adapter: string | undefined;
  if (hasLowRank(lm)) {
    if (args.adapter === undefined) {
      throw new BitNetError('UNSUPPORTED', 'the model has an unmerged LoRA adapter; say what to do with it', {
        field: 'adapter',
        hint: '--adapter merge (folded into the ternary weights, re-quantized) or --adapter separate (a llama.cpp LoRA GGUF beside the base)',
      });
    }
    if (args.adapter === 'merge') ({ weights, report: merge } = mergeLowRank(lm));
    else adapter = args.adapterOut ?? `${args.out.replace(/\.gguf$/, '')}.lora.gguf`;
  }
  await writeBitnetGguf(args.out, weights, new ByteTokenizer().ggufVocabulary(), {
    type: args.type,
    scaleTensors: args.scaleTensors,
    name,
    loraSeparate: adapter !== undefined,
  });
  if (adapter !== undefined) await writeLoraGguf(adapter, weights, { name: `${name} LoRA` });
  if (args.json) {
    ctx.io.out(
      JSON.stringify({
        path: args.out,
        architecture: 'bitnet',
        config: weights.config,
        ...(adapter === undefined ? {} : { adapter }),
        ...(merge === undefined ? {} : { merge }),
      }),
    );
    return;
  }
  ctx.io.out(`wrote ${args.out} (llama.cpp bitnet architecture, ${args.type.toUpperCase()})`);
  if (adapter !== undefined) ctx.io.out(`wrote ${adapter} (llama.cpp LoRA adapter: llama-cli -m ${args.out} --lora ${adapter})`);
  if (merge !== undefined) {
    const share = ((100 * merge.changedCodes) / merge.codes).toFixed(2);
    ctx.io.out(
      `merged the LoRA adapter into ${merge.merged} projections: re-quantizing changed ${merge.changedCodes} of ${merge.codes} ternary codes (${share} %)`,
    );
  }
}

/** A run of an hf recipe, or an HF folder (converted here with the bitnet adapter on every projection). */
async function exportHfLanguageModel(ctx: CliContext, args: ExportArgs): Promise<void> {
  const lm = await loadHfLanguageModel(args.source);
  let model = lm.model;
  let peft: PeftModel | undefined;
  if (lm.origin === 'hf') {
    ctx.io.err('bitnet: converting every projection to ternary as it is (no training): fine-tune with recipes/hf-to-bitnet.json for a usable model');
    peft = getPeftModel(lm.model, { peftType: 'BITNET', targetModules: 'all-linear' });
    model = peft.model;
  }
  try {
    if (args.format === 'hf') {
      const report = await exportHfPretrained(model, lm.sourceDir, args.out, { linearClass: args.linearClass, mode: args.quantizationMode });
      ctx.io.out(
        args.json
          ? JSON.stringify({ path: args.out, ...report })
          : `wrote ${args.out} (${report.architecture}, BitNet ${args.linearClass} ${args.quantizationMode})`,
      );
      return;
    }
    if (args.type !== 'tq2_0' && args.type !== 'tq1_0') {
      throw new BitNetError('UNSUPPORTED', 'a converted HF model exports as tq2_0 or tq1_0', { field: 'type' });
    }
    const weights = llamaLmWeights(model);
    const arch = await writeLlamaGguf(args.out, weights, lm.config.family, ggufVocabularyFromHf(lm.sourceDir), {
      type: args.type,
      name: basename(lm.sourceDir),
    });
    ctx.io.out(
      args.json
        ? JSON.stringify({ path: args.out, architecture: arch, config: weights.config })
        : `wrote ${args.out} (llama.cpp ${arch} architecture, ${args.type.toUpperCase()} projections, tokenizer from ${lm.sourceDir})`,
    );
  } finally {
    peft?.dispose();
    lm.model.dispose();
  }
}
