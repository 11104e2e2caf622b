import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../../errors.js';
import { BitLinear } from '../../nn/bit-linear.js';
import { kernelToTorch } from '../../nn/layout.js';
import { weightsByName } from '../../nn/weights.js';
import type { TernaryWeight } from '../../quant/weight.js';
import { checkBitnetConfig, PROJECTIONS, type BitnetLmConfig, type Projection } from '../bitnet/config.js';
import { MODEL_METADATA_KEY } from '../bitnet/spec.js';
import type { BitnetLayerWeights, BitnetLmWeights } from '../bitnet/weights.js';
import type { LlamaConfig } from './config.js';
import { LLAMA_ARCHITECTURE, LLAMA_GLOBALS, LLAMA_NORMS, llamaProjectionPath, SUBLN_NORMS, type LlamaProjection } from './spec.js';

const PROJECTION_OF: Record<Projection, LlamaProjection> = {
  q: 'q_proj',
  k: 'k_proj',
  v: 'v_proj',
  o: 'o_proj',
  gate: 'gate_proj',
  up: 'up_proj',
  down: 'down_proj',
};

/** The config of a model built by buildLlama (fromPretrained), from its metadata. */
export function llamaConfigOf(model: tf.LayersModel): LlamaConfig {
  const meta = (model.getUserDefinedMetadata() as Record<string, { architecture?: string; config?: LlamaConfig }> | undefined)?.[MODEL_METADATA_KEY];
  if (meta?.architecture !== LLAMA_ARCHITECTURE || meta.config === undefined) {
    throw new BitNetError('UNSUPPORTED', `model '${model.name}' is not an imported HF Llama/Qwen model`, {
      field: 'model',
      hint: 'load it with fromPretrained or an hf recipe',
    });
  }
  return meta.config;
}

/** The decoder config the runner and the GGUF writer read, for a Llama-family model. */
export function llamaDecoderConfig(c: LlamaConfig): BitnetLmConfig {
  return checkBitnetConfig({
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    contextLength: c.contextLength,
    ropeTheta: c.ropeTheta,
    rmsNormEps: c.rmsNormEps,
    hiddenAct: 'silu',
    headDim: c.headDim,
    subLn: c.subLn,
    attentionBias: c.attentionBias,
    qkNorm: c.qkNorm,
    tiedHead: c.tiedHead,
    ...(c.ropeFreqFactors === undefined ? {} : { ropeFreqFactors: c.ropeFreqFactors }),
  });
}

/**
 * A converted Llama-family model (fromPretrained + the bitnet adapter on every projection) as plain
 * arrays: ternary projections, norms, biases, embeddings; what BitnetRunner and writeLlamaGguf read.
 */
export function llamaLmWeights(model: tf.LayersModel): BitnetLmWeights {
  const c = llamaConfigOf(model);
  const config = llamaDecoderConfig(c);
  const values = (name: string, short: string): Float32Array | undefined => {
    let layer: tf.layers.Layer;
    try {
      layer = model.getLayer(name);
    } catch {
      return undefined;
    }
    return weightsByName(layer)[short]?.dataSync() as Float32Array | undefined;
  };
  const required = (name: string, short: string): Float32Array => {
    const v = values(name, short);
    if (v === undefined) throw new BitNetError('INTERNAL', `the model has no ${name}/${short}`, { field: name });
    return Float32Array.from(v);
  };
  const layers: BitnetLayerWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const b = `model.layers.${i}`;
    const proj = {} as Record<Projection, TernaryWeight>;
    for (const p of PROJECTIONS) {
      const path = llamaProjectionPath(i, PROJECTION_OF[p]);
      const layer = model.getLayer(path);
      if (!(layer instanceof BitLinear)) {
        throw new BitNetError('UNSUPPORTED', `${path} is a ${layer.getClassName()}, not a BitLinear: every projection must be ternary here`, {
          field: path,
          hint: "convert with the bitnet adapter on 'all-linear' (merge LoRA first)",
        });
      }
      proj[p] = layer.ternaryWeight();
    }
    const bias = c.attentionBias
      ? { q: required(`${b}.self_attn.q_proj`, 'bias'), k: required(`${b}.self_attn.k_proj`, 'bias'), v: required(`${b}.self_attn.v_proj`, 'bias') }
      : undefined;
    layers.push({
      attnNorm: required(`${b}.${LLAMA_NORMS.input}`, 'gamma'),
      ffnNorm: required(`${b}.${LLAMA_NORMS.postAttention}`, 'gamma'),
      ...(c.subLn ? { attnSubNorm: required(`${b}.${SUBLN_NORMS.attention}`, 'gamma'), ffnSubNorm: required(`${b}.${SUBLN_NORMS.ffn}`, 'gamma') } : {}),
      ...(c.qkNorm ? { qNorm: required(`${b}.self_attn.${LLAMA_NORMS.q}`, 'gamma'), kNorm: required(`${b}.self_attn.${LLAMA_NORMS.k}`, 'gamma') } : {}),
      ...(bias === undefined ? {} : { bias }),
      proj,
    });
  }
  const head = c.tiedHead ? undefined : model.getLayer(LLAMA_GLOBALS.head);
  const headKernel = head === undefined ? undefined : (weightsByName(head).kernel?.dataSync() as Float32Array);
  return {
    config,
    ggufArchitecture: config.subLn === true ? 'bitnet' : c.family,
    tokenEmbedding: required(LLAMA_GLOBALS.embedding, 'embeddings'),
    outputNorm: required(LLAMA_GLOBALS.norm, 'gamma'),
    ...(headKernel === undefined ? {} : { output: kernelToTorch(Float32Array.from(headKernel), c.hiddenSize, c.vocabSize) }),
    layers,
  };
}
