import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { bitLinear, BitLinear, type BitLinearArgs } from '../nn/bit-linear.js';
import { CausalAttention } from '../nn/causal-attention.js';
import { kernelToTorch } from '../nn/layout.js';
import { RMSNorm } from '../nn/rms-norm.js';
import { TiedEmbedding } from '../nn/tied-embedding.js';
import { weightsByName } from '../nn/weights.js';
import { quantizeWeights } from '../quant/weight.js';
import { GGUF_PROJECTION_NAMES } from '../export/gguf-bitnet.js';
import { checkBitnetConfig, PROJECTIONS, type BitnetLayerWeights, type BitnetLmConfig, type BitnetLmWeights, type Projection } from './bitnet-weights.js';

export interface BitnetLmOptions extends BitnetLmConfig {
  /** 'bitlinear' for BitNet, 'dense' for the fp32 twin (the same layers with quantization off). */
  layer: 'bitlinear' | 'dense';
  bitnet?: Omit<BitLinearArgs, 'units' | 'name' | 'kernelInitializer' | 'useBias' | 'useRmsNorm'>;
  seed?: number;
}

/**
 * A llama-like BitNet decoder (REFERENCE.md §2) as a tfjs functional model: int32 tokens [B, T] in,
 * logits [B, T, vocab] out. Layers carry llama.cpp's names (`token_embd`, `blk.0.attn_q`, ...,
 * `output_norm`), so adapters target them (`targetModules: ['attn_q', 'ffn_up']`) and the GGUF
 * export maps them one to one. Sub-LN norms sit before o_proj and down_proj; the FFN is SiLU-gated.
 */
export function buildBitnetLm(o: BitnetLmOptions): tf.LayersModel {
  checkBitnetConfig(o);
  const seed = o.seed ?? 0;
  let n = 0;
  const linear = (name: string, units: number): tf.layers.Layer => {
    const kernelInitializer = tf.initializers.randomNormal({ stddev: 0.02, seed: seed * 1000 + n++ });
    return bitLinear({ units, name, useBias: false, useRmsNorm: false, kernelInitializer, ...o.bitnet, fullPrecision: o.layer === 'dense' });
  };
  const norm = (name: string): RMSNorm => new RMSNorm({ name, epsilon: o.rmsNormEps });
  const kvDim = (o.hiddenSize / o.numHeads) * o.numKvHeads;
  const tokens = tf.input({ shape: [null], dtype: 'int32', name: 'tokens' });
  const embedding = new TiedEmbedding({ name: 'token_embd', vocabSize: o.vocabSize, dim: o.hiddenSize });
  let x = embedding.apply(tokens) as tf.SymbolicTensor;
  for (let i = 0; i < o.numLayers; i++) {
    const b = `blk.${i}`;
    const n1 = norm(`${b}.attn_norm`).apply(x) as tf.SymbolicTensor;
    const q = linear(`${b}.attn_q`, o.hiddenSize).apply(n1) as tf.SymbolicTensor;
    const k = linear(`${b}.attn_k`, kvDim).apply(n1) as tf.SymbolicTensor;
    const v = linear(`${b}.attn_v`, kvDim).apply(n1) as tf.SymbolicTensor;
    const attn = new CausalAttention({ name: `${b}.attn`, numHeads: o.numHeads, numKvHeads: o.numKvHeads, ropeTheta: o.ropeTheta }).apply([q, k, v]) as tf.SymbolicTensor;
    const sub = norm(`${b}.attn_sub_norm`).apply(attn) as tf.SymbolicTensor;
    const out = linear(`${b}.attn_output`, o.hiddenSize).apply(sub) as tf.SymbolicTensor;
    const h = tf.layers.add({ name: `${b}.attn_residual` }).apply([x, out]) as tf.SymbolicTensor;
    const n2 = norm(`${b}.ffn_norm`).apply(h) as tf.SymbolicTensor;
    const gateIn = linear(`${b}.ffn_gate`, o.intermediateSize).apply(n2) as tf.SymbolicTensor;
    let gate: tf.SymbolicTensor;
    if (o.hiddenAct === 'relu2') {
      const r = tf.layers.reLU({ name: `${b}.ffn_act` }).apply(gateIn) as tf.SymbolicTensor;
      gate = tf.layers.multiply({ name: `${b}.ffn_act_sq` }).apply([r, r]) as tf.SymbolicTensor;
    } else {
      gate = tf.layers.activation({ activation: 'swish', name: `${b}.ffn_act` }).apply(gateIn) as tf.SymbolicTensor;
    }
    const up = linear(`${b}.ffn_up`, o.intermediateSize).apply(n2) as tf.SymbolicTensor;
    const glu = tf.layers.multiply({ name: `${b}.ffn_glu` }).apply([gate, up]) as tf.SymbolicTensor;
    const down = linear(`${b}.ffn_down`, o.hiddenSize).apply(norm(`${b}.ffn_sub_norm`).apply(glu)) as tf.SymbolicTensor;
    x = tf.layers.add({ name: `${b}.ffn_residual` }).apply([h, down]) as tf.SymbolicTensor;
  }
  const logits = embedding.apply(norm('output_norm').apply(x)) as tf.SymbolicTensor;
  return tf.model({ inputs: tokens, outputs: logits, name: 'bitnet_lm' });
}

/** The hyperparameters of a model built by buildBitnetLm (read from its layers). */
export function lmConfigOf(model: tf.LayersModel, contextLength: number): BitnetLmConfig {
  const emb = model.getLayer('token_embd') as TiedEmbedding;
  const attn = model.getLayer('blk.0.attn') as CausalAttention;
  const ffn = model.getLayer('blk.0.ffn_up').getConfig().units as number;
  const layers = model.layers.filter((l) => /^blk\.\d+\.attn_norm$/.test(l.name)).length;
  return {
    vocabSize: emb.vocabSize,
    hiddenSize: emb.dim,
    intermediateSize: ffn,
    numLayers: layers,
    numHeads: attn.numHeads,
    numKvHeads: attn.numKvHeads,
    contextLength,
    ropeTheta: attn.ropeTheta,
    rmsNormEps: (model.getLayer('output_norm') as RMSNorm).epsilon,
    hiddenAct: model.layers.some((l) => l.name === 'blk.0.ffn_act_sq') ? 'relu2' : 'silu',
  };
}

/**
 * The weights of a trained LM as plain arrays (what the GGUF exporter and BitnetRunner read):
 * BitLinear layers give their ternary weights; Dense layers (the fp32 twin) are ternarized here.
 */
export function lmWeightsOf(model: tf.LayersModel, contextLength: number): BitnetLmWeights {
  const config = lmConfigOf(model, contextLength);
  const gain = (name: string): Float32Array => Float32Array.from((weightsByName(model.getLayer(name)).gamma as tf.Tensor).dataSync());
  const layers: BitnetLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const proj = {} as BitnetLayerWeights['proj'];
    for (const p of PROJECTIONS) {
      const layer = model.getLayer(`blk.${i}.${GGUF_PROJECTION_NAMES[p as Projection]}`);
      if (layer instanceof BitLinear) {
        proj[p] = layer.ternaryWeight();
        if (proj[p].groupSize !== 'tensor') throw new BitNetError('UNSUPPORTED', `${layer.name}: the LM export needs per-tensor scales`, { field: 'groupSize' });
      } else {
        const kernel = weightsByName(layer).kernel as tf.Tensor;
        const [inF, out] = kernel.shape as [number, number];
        proj[p] = quantizeWeights(kernelToTorch(kernel.dataSync() as Float32Array, inF, out), [out, inF]);
      }
    }
    layers.push({ attnNorm: gain(`blk.${i}.attn_norm`), attnSubNorm: gain(`blk.${i}.attn_sub_norm`), ffnNorm: gain(`blk.${i}.ffn_norm`), ffnSubNorm: gain(`blk.${i}.ffn_sub_norm`), proj });
  }
  const tokenEmbedding = Float32Array.from((weightsByName(model.getLayer('token_embd')).embeddings as tf.Tensor).dataSync());
  return { config, tokenEmbedding, outputNorm: gain('output_norm'), layers };
}
