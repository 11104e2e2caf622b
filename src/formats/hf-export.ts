import { copyFileSync, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { llamaConfigOf } from '../models/llama/weights.js';
import { BitLinear } from '../nn/bit-linear.js';
import { modelLayers } from '../nn/model-layers.js';
import { RMSNorm } from '../nn/rms-norm.js';
import { weightShortName } from '../nn/weights.js';
import { TiedEmbedding } from '../nn/tied-embedding.js';
import { hfPackedRows, packHfWeights } from '../quant/pack.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readHfConfig } from './hf-checkpoint.js';
import type { HfLinearClass } from './hf-bitnet.js';
import { serializeSafetensors, type SafetensorsInput } from './safetensors/writer.js';
import { torchTensor } from './torch-tensor.js';

/** What a model folder carries beside its weights: copied from the source folder as they are. */
const SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'special_tokens_map.json', 'generation_config.json'];

export interface HfExportOptions {
  /** 'bitlinear' stores weight_scale = 1/beta, 'autobitlinear' stores beta (transformers' two classes). */
  linearClass?: HfLinearClass;
  /**
   * 'offline': packed ternary weights (inference); 'online': the latent full-precision weights with
   * transformers' online quantization (autobitlinear only), so that a PyTorch run continues the QAT.
   */
  mode?: 'offline' | 'online';
}

export interface HfExportReport {
  architecture: string;
  bitLinear: number;
  notConverted: string[];
}

/**
 * Writes a converted HF model (fromPretrained + the bitnet adapter) as a HuggingFace folder that
 * transformers loads: the source architecture with a BitNet `quantization_config`, or transformers'
 * BitNet architecture when SubLN was inserted (Llama only: transformers has no Qwen with SubLN).
 * Projections that are not BitLinear stay full precision and are listed in modules_to_not_convert.
 */
export async function exportHfPretrained(model: tf.LayersModel, sourceDir: string, outDir: string, options: HfExportOptions = {}): Promise<HfExportReport> {
  const c = llamaConfigOf(model);
  const linearClass = options.linearClass ?? (options.mode === 'online' ? 'autobitlinear' : 'bitlinear');
  const mode = options.mode ?? 'offline';
  if (mode === 'online' && linearClass !== 'autobitlinear') {
    throw new BitNetError('INVALID_ARGUMENT', "online quantization is transformers' AutoBitLinear only", {
      field: 'linearClass',
      hint: "use linearClass 'autobitlinear'",
    });
  }
  if (c.subLn && c.family !== 'llama') {
    throw new BitNetError('UNSUPPORTED', `a ${c.family} model with SubLN has no transformers architecture`, {
      field: 'subLn',
      hint: "transformers' BitNet architecture is a Llama with SubLN (no q/k bias, no q/k norm): convert without subLn, or export GGUF",
    });
  }
  const tensors: Record<string, SafetensorsInput> = {};
  const notConverted: string[] = [];
  let bitLinear = 0;
  for (const { path, layer } of modelLayers(model)) {
    if (layer.weights.length === 0) continue;
    if (layer instanceof BitLinear) {
      if (layer.merged || layer.fullPrecision || layer.quant.groupSize !== 'tensor' || layer.quant.useRmsNorm || layer.quant.activationBits !== 8) {
        throw new BitNetError('UNSUPPORTED', `${path}: transformers' BitLinear is per-tensor ternary with 8-bit activations and no inner norm`, {
          field: path,
        });
      }
      bitLinear++;
      const bias = layer.weights.find((w) => weightShortName(w) === 'bias');
      if (bias !== undefined) tensors[`${path}.bias`] = torchTensor(bias);
      if (mode === 'online') {
        const kernel = layer.weights.find((w) => weightShortName(w) === 'kernel');
        if (kernel !== undefined) tensors[`${path}.weight`] = torchTensor(kernel);
        continue;
      }
      const t = layer.ternaryWeight();
      const beta = t.scales[0] as number;
      tensors[`${path}.weight`] = { dtype: 'U8', shape: [hfPackedRows(t.shape[0]), t.shape[1]], data: packHfWeights(t.values, t.shape) };
      tensors[`${path}.weight_scale`] = { dtype: 'F32', shape: [1], data: Float32Array.of(linearClass === 'bitlinear' ? 1 / beta : beta) };
    } else if (layer instanceof RMSNorm || layer instanceof TiedEmbedding || layer.getClassName() === 'Dense') {
      if (layer.getClassName() === 'Dense') notConverted.push(path);
      for (const w of layer.weights) tensors[`${path}.${weightShortName(w) === 'bias' ? 'bias' : 'weight'}`] = torchTensor(w);
    } else {
      throw new BitNetError('UNSUPPORTED', `${path}: a ${layer.getClassName()} layer has no HF export (merge adapters first)`, { field: path });
    }
  }
  const source = readHfConfig<Record<string, unknown>>(sourceDir);
  const { torch_dtype: _t, dtype: _d, quantization_config: _q, ...rest } = source;
  const config = {
    ...rest,
    ...(c.subLn ? { model_type: 'bitnet', architectures: ['BitNetForCausalLM'], hidden_act: 'silu' } : {}),
    dtype: 'float32',
    quantization_config: {
      quant_method: 'bitnet',
      linear_class: linearClass,
      quantization_mode: mode,
      // transformers matches these as substrings of module names; its lm_head exists (tied or not) and stays full precision
      modules_to_not_convert: ['lm_head', ...notConverted.filter((p) => p !== 'lm_head')],
    },
  };
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  await writeFileAtomic(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const f of SIDE_FILES) if (existsSync(join(sourceDir, f))) copyFileSync(join(sourceDir, f), join(outDir, f));
  return { architecture: c.subLn ? 'BitNetForCausalLM' : String((source.architectures as string[] | undefined)?.[0] ?? c.family), bitLinear, notConverted };
}
