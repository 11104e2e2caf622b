import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { guardedBuild } from '../nn/guarded-build.js';
import { llamaConfigFromHf, type LlamaConfig } from '../models/llama/config.js';
import { SUBLN_NORMS } from '../models/llama/spec.js';
import { buildLlama } from '../models/llama/tfjs.js';
import { modelLayers } from '../nn/model-layers.js';
import { torchToKernel } from '../nn/layout.js';
import { setWeightsByName, weightsByName } from '../nn/weights.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { openCheckpoint, readHfConfig } from './hf-checkpoint.js';
import type { SafetensorsFile } from './safetensors/reader.js';

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
  const tokenizer = options.tokenizer !== false && existsSync(join(dir, 'tokenizer.json')) ? HfTokenizer.fromDir(dir) : undefined;
  const fileOf = options.weights === 'random' ? undefined : await openCheckpoint(dir);
  if (fileOf !== undefined) checkConfigShapes(config, fileOf);
  let model: tf.LayersModel;
  try {
    model = await guardedBuild({}, () => buildLlama(config));
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new BitNetError('INVALID_CONFIG', `${join(dir, 'config.json')} describes a model too large to allocate: ${cause.message}`, {
      field: 'config.json',
      cause,
    });
  }
  if (fileOf !== undefined) loadPretrainedWeights(model, fileOf);
  return { model, tokenizer, config, ...(quantization === undefined ? {} : { quantization }) };
}

/**
 * config.json's sizes against the checkpoint's tensors, before a layer is built: a config that
 * disagrees with its weights allocates nothing.
 */
function checkConfigShapes(c: LlamaConfig, fileOf: (name: string) => SafetensorsFile): void {
  const expect = (name: string, shape: number[]): void => {
    const actual = fileOf(name).tensor(name).shape;
    if (JSON.stringify(actual) !== JSON.stringify(shape)) {
      throw new BitNetError('CORRUPT_FILE', `${name} has shape ${JSON.stringify(actual)}, but config.json implies ${JSON.stringify(shape)}`, {
        field: name,
        hint: 'config.json and the weights come from different models, or one was edited',
      });
    }
  };
  expect('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (const layer of new Set([0, c.numLayers - 1])) {
    expect(`model.layers.${layer}.self_attn.q_proj.weight`, [c.numHeads * c.headDim, c.hiddenSize]);
    expect(`model.layers.${layer}.self_attn.k_proj.weight`, [c.numKvHeads * c.headDim, c.hiddenSize]);
    expect(`model.layers.${layer}.mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize]);
  }
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
function loadPretrainedWeights(model: tf.LayersModel, fileOf: (name: string) => SafetensorsFile): void {
  try {
    for (const { path, layer } of modelLayers(model)) {
      if (Object.values(SUBLN_NORMS).some((norm) => path.endsWith(`.${norm}`))) continue;
      const current = weightsByName(layer);
      if (Object.keys(current).length === 0) continue;
      const values: Record<string, tf.Tensor> = {};
      try {
        readLayer(path, current, values, fileOf);
      } catch (error) {
        tf.dispose(Object.values(values));
        throw error;
      }
      setWeightsByName(layer, values);
      tf.dispose(Object.values(values));
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** One layer's tensors from the checkpoint into `values` (filled as they are read, so a failure can free them). */
function readLayer(path: string, current: Record<string, tf.Tensor>, values: Record<string, tf.Tensor>, fileOf: (name: string) => SafetensorsFile): void {
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
      short === 'kernel' ? tf.tensor2d(torchToKernel(data, want[0] as number, want[1] as number), like.shape as [number, number]) : tf.tensor(data, like.shape);
  }
}
