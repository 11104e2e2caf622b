import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { llamaConfigFromHf, type LlamaConfig } from '../models/llama/config.js';
import { SUBLN_NORMS } from '../models/llama/spec.js';
import { buildLlama } from '../models/llama/tfjs.js';
import { modelLayers } from '../nn/model-layers.js';
import { torchToKernel } from '../nn/layout.js';
import { setWeightsByName, weightsByName } from '../nn/weights.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { openCheckpoint, readHfConfig } from './hf-checkpoint.js';

export interface PretrainedModel {
  /** Trainable, full precision; layer names are the HF module paths. */
  model: tf.LayersModel;
  /** From tokenizer.json (+ tokenizer_config.json), when the folder has one. */
  tokenizer: HfTokenizer | undefined;
  config: LlamaConfig;
  /** Set when the folder is a BitNet QAT checkpoint with latent weights (transformers' online AutoBitLinear). */
  quantization?: { linearClass: 'autobitlinear'; mode: 'online' };
}

/** The HF tensor of a tfjs weight: Dense kernels are [in, out] here and [out, in] there. */
const HF_WEIGHT: Record<string, string> = { kernel: 'weight', bias: 'bias', gamma: 'weight', embeddings: 'weight' };

export interface FromPretrainedOptions {
  /** 'random': the architecture (and tokenizer) of the folder, untrained; no weights are read. */
  weights?: 'pretrained' | 'random';
  /** Insert SubLN (BitDistill): RMSNorms before o_proj and down_proj, initialized to ones. */
  subLn?: boolean;
  /** false: skip tokenizer.json (a caller that read it already). */
  tokenizer?: boolean;
}

/**
 * A pretrained HuggingFace Llama, Qwen2 or Qwen3 checkpoint folder (config.json + model.safetensors or
 * its shards; f32, f16 or bf16) as a trainable tfjs model with the same logits as transformers.
 */
export async function fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<PretrainedModel> {
  const json = readHfConfig<Record<string, unknown>>(dir);
  const quantization = bitnetQuantization(json);
  const config = { ...llamaConfigFromHf(json), subLn: options.subLn ?? false };
  const model = buildLlama(config);
  if (options.weights !== 'random') await loadPretrainedWeights(model, dir);
  const tokenizer = options.tokenizer !== false && existsSync(join(dir, 'tokenizer.json')) ? HfTokenizer.fromDir(dir) : undefined;
  return { model, tokenizer, config, ...(quantization === undefined ? {} : { quantization }) };
}

/** A BitNet quantization_config: latent weights (online) read as they are; packed ones (offline) are not weights of this architecture. */
function bitnetQuantization(json: Record<string, unknown>): PretrainedModel['quantization'] {
  const q = json.quantization_config as Record<string, unknown> | undefined;
  if (q === undefined || q === null) return undefined;
  if (q.quant_method === 'bitnet' && q.quantization_mode === 'online' && q.linear_class === 'autobitlinear')
    return { linearClass: 'autobitlinear', mode: 'online' };
  throw new BitNetError('UNSUPPORTED', `quantization_config ${JSON.stringify(q)} is not read by fromPretrained`, {
    field: 'quantization_config',
    hint: 'full-precision checkpoints and BitNet online (autobitlinear) ones import here; packed BitNet checkpoints of the bitnet architecture through importHfBitnet',
  });
}

/** Fills a buildLlama model from the folder's safetensors; SubLN norms (not in the checkpoint) keep their ones. */
async function loadPretrainedWeights(model: tf.LayersModel, dir: string): Promise<void> {
  const fileOf = await openCheckpoint(dir);
  try {
    for (const { path, layer } of modelLayers(model)) {
      if (Object.values(SUBLN_NORMS).some((norm) => path.endsWith(`.${norm}`))) continue;
      const current = weightsByName(layer);
      if (Object.keys(current).length === 0) continue;
      const values: Record<string, tf.Tensor> = {};
      for (const [short, like] of Object.entries(current)) {
        const hfName = short in HF_WEIGHT ? `${path}.${HF_WEIGHT[short] as string}` : undefined;
        if (hfName === undefined) throw new BitNetError('INTERNAL', `no HF name for ${path}/${short}`);
        const file = fileOf(hfName);
        const entry = file.tensor(hfName);
        const want = like.rank === 2 && short === 'kernel' ? [like.shape[1], like.shape[0]] : like.shape;
        if (JSON.stringify(entry.shape) !== JSON.stringify(want)) {
          throw new BitNetError('CORRUPT_FILE', `${hfName} has shape ${JSON.stringify(entry.shape)}, expected ${JSON.stringify(want)} for this config.json`, {
            field: hfName,
          });
        }
        const data = file.float32(hfName);
        values[short] =
          short === 'kernel'
            ? tf.tensor2d(torchToKernel(data, want[0] as number, want[1] as number), like.shape as [number, number])
            : tf.tensor(data, like.shape);
      }
      setWeightsByName(layer, values);
      tf.dispose(Object.values(values));
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
}
