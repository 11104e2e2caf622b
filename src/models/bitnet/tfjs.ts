import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../../errors.js';
import { bitLinear, BitLinear, type BitLinearArgs } from '../../nn/bit-linear.js';
import { CausalAttention } from '../../nn/causal-attention.js';
import { kernelToTorch } from '../../nn/layout.js';
import { linearWithDelta } from '../../nn/low-rank.js';
import { packTernaryCodes } from '../../nn/ternary-codes.js';
import { RMSNorm } from '../../nn/rms-norm.js';
import { SwiGlu } from '../../nn/swiglu.js';
import { TiedEmbedding } from '../../nn/tied-embedding.js';
import { setWeightsByName, weightsByName } from '../../nn/weights.js';
import { quantizeWeights } from '../../quant/weight.js';
import { checkBitnetConfig, PROJECTIONS, projectionShape, type BitnetLmConfig } from './config.js';
import { BITNET_ARCHITECTURE, LAYER_NORMS, MODEL_METADATA_KEY, NORM_FEEDS, tensorName, type LayerNorm, type LayerTensor, type ModelMetadata } from './spec.js';
import { layerNorm, type BitnetLayerWeights, type BitnetLmWeights } from './weights.js';

export interface BitnetLmOptions extends BitnetLmConfig {
  /** 'bitlinear' for BitNet, 'dense' for the fp32 twin (the same layers with quantization off). */
  layer: 'bitlinear' | 'dense';
  /** Quantization of the projections (the norms are the spec's own layers, so no norm inside BitLinear). */
  bitnet?: Omit<BitLinearArgs, 'units' | 'name' | 'kernelInitializer' | 'useBias' | 'useRmsNorm'>;
  seed?: number;
}

/**
 * A llama-like BitNet decoder (src/models/bitnet/spec.ts) as a tfjs functional model: int32 tokens
 * [B, T] in, logits [B, T, vocab] out. Layers carry the spec's tfjs names (llama.cpp's: `token_embd`,
 * `blk.0.attn_q`, ..., `output_norm`), so adapters target them (`targetModules: ['attn_q', 'ffn_up']`).
 * The config goes into the model's metadata, where lmConfigOf reads it back.
 */
export function buildBitnetLm(o: BitnetLmOptions): tf.LayersModel {
  const { layer: kind, bitnet, seed = 0, ...shape } = o;
  const config = checkBitnetConfig(shape);
  let n = 0;
  const name = (role: LayerTensor, i: number): string => tensorName('tfjs', role, i);
  const linear = (layerName: string, units: number): tf.layers.Layer => {
    // + 1: tfjs takes a seed of 0 as no seed (Math.random)
    const kernelInitializer = tf.initializers.randomNormal({ stddev: 0.02, seed: seed * 1000 + ++n });
    return bitLinear({ units, name: layerName, useBias: false, useRmsNorm: false, kernelInitializer, ...bitnet, fullPrecision: kind === 'dense' });
  };
  const norm = (normName: string): RMSNorm => new RMSNorm({ name: normName, epsilon: config.rmsNormEps });
  const tokens = tf.input({ shape: [null], dtype: 'int32', name: 'tokens' });
  const embedding = new TiedEmbedding({ name: tensorName('tfjs', 'tokenEmbedding'), vocabSize: config.vocabSize, dim: config.hiddenSize });
  let x = embedding.apply(tokens) as tf.SymbolicTensor;
  const apply = (layer: tf.layers.Layer, input: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor => layer.apply(input) as tf.SymbolicTensor;
  for (let i = 0; i < config.numLayers; i++) {
    const b = `blk.${i}`;
    // each norm feeds the projections the spec's NORM_FEEDS names
    const project = (role: LayerNorm, input: tf.SymbolicTensor): tf.SymbolicTensor[] => {
      const normed = apply(norm(name(role, i)), input);
      return NORM_FEEDS[role].map((p) => apply(linear(name(p, i), projectionShape(config, p)[0]), normed));
    };
    const [q, k, v] = project('attnNorm', x) as [tf.SymbolicTensor, tf.SymbolicTensor, tf.SymbolicTensor];
    const attn = apply(new CausalAttention({ name: `${b}.attn`, numHeads: config.numHeads, numKvHeads: config.numKvHeads, ropeTheta: config.ropeTheta }), [
      q,
      k,
      v,
    ]);
    const [out] = project('attnSubNorm', attn) as [tf.SymbolicTensor];
    const h = apply(tf.layers.add({ name: `${b}.attn_residual` }), [x, out]);
    const [gateIn, up] = project('ffnNorm', h) as [tf.SymbolicTensor, tf.SymbolicTensor];
    let glu: tf.SymbolicTensor;
    if (config.hiddenAct === 'relu2') {
      const r = apply(tf.layers.reLU({ name: `${b}.ffn_act` }), gateIn);
      const gate = apply(tf.layers.multiply({ name: `${b}.ffn_act_sq` }), [r, r]);
      glu = apply(tf.layers.multiply({ name: `${b}.ffn_glu` }), [gate, up]);
    } else {
      glu = apply(new SwiGlu({ name: `${b}.ffn_glu` }), [gateIn, up]);
    }
    const [down] = project('ffnSubNorm', glu) as [tf.SymbolicTensor];
    x = apply(tf.layers.add({ name: `${b}.ffn_residual` }), [h, down]);
  }
  const logits = apply(embedding, apply(norm(tensorName('tfjs', 'outputNorm')), x));
  const model = tf.model({ inputs: tokens, outputs: logits, name: 'bitnet_lm' });
  const metadata: ModelMetadata = { architecture: BITNET_ARCHITECTURE, config };
  model.setUserDefinedMetadata({ [MODEL_METADATA_KEY]: metadata });
  return model;
}

/**
 * The tfjs model of ternary weights (a GGUF, a merged run, an HF BitNet checkpoint read as
 * BitnetLmWeights): merged BitLinear layers holding the 2-bit codes (packed) and betas, the norms and the
 * embedding as given. It computes what BitnetRunner computes (BitNet numerics), trains adapters
 * on top (a merged BitLinear passes gradients to its input), and exports back.
 */
export function lmModelFromWeights(w: BitnetLmWeights): tf.LayersModel {
  if (w.layers.some((l) => l.lora !== undefined || l.bias !== undefined || l.qNorm !== undefined) || w.output !== undefined) {
    throw new BitNetError('UNSUPPORTED', 'lmModelFromWeights builds the bitnet architecture: no LoRA updates, q/k/v bias, q/k norms or untied head', {
      field: 'weights',
    });
  }
  const model = buildBitnetLm({ ...w.config, layer: 'bitlinear', bitnet: { merged: true, packed: true } });
  const set = (layerName: string, values: Record<string, tf.Tensor>): void => {
    setWeightsByName(model.getLayer(layerName), values);
    tf.dispose(Object.values(values));
  };
  set(tensorName('tfjs', 'tokenEmbedding'), { embeddings: tf.tensor2d(w.tokenEmbedding, [w.config.vocabSize, w.config.hiddenSize]) });
  set(tensorName('tfjs', 'outputNorm'), { gamma: tf.tensor1d(w.outputNorm) });
  w.layers.forEach((layer, i) => {
    for (const norm of LAYER_NORMS) set(tensorName('tfjs', norm, i), { gamma: tf.tensor1d(layerNorm(layer, norm, i)) });
    for (const p of PROJECTIONS) {
      const t = layer.proj[p];
      if (t.groupSize !== 'tensor') throw new BitNetError('UNSUPPORTED', `layer ${i} ${p}: per-group scales`, { field: 'groupSize' });
      set(tensorName('tfjs', p, i), { qcodes: tf.tensor1d(packTernaryCodes(t.values), 'int32'), scales: tf.tensor1d(t.scales) });
    }
  });
  return model;
}

/** The architecture metadata of a model built by buildBitnetLm (and kept by saveModel/loadModel and adapters), or undefined. */
export function lmMetadataOf(model: tf.LayersModel): ModelMetadata | undefined {
  const meta = (model.getUserDefinedMetadata() as Record<string, unknown> | undefined)?.[MODEL_METADATA_KEY] as ModelMetadata | undefined;
  return meta?.architecture === BITNET_ARCHITECTURE ? meta : undefined;
}

/** The config of a model built by buildBitnetLm, from its metadata. */
export function lmConfigOf(model: tf.LayersModel): BitnetLmConfig {
  const meta = lmMetadataOf(model);
  if (meta === undefined) {
    throw new BitNetError(
      'UNSUPPORTED',
      `model '${model.name}' is not a BitNet language model (its metadata has no ${MODEL_METADATA_KEY}.architecture '${BITNET_ARCHITECTURE}')`,
      {
        field: 'model',
        hint: 'build it with buildBitnetLm or a bitnet-lm recipe',
      },
    );
  }
  return checkBitnetConfig(meta.config);
}

/**
 * The weights of a trained LM as plain arrays (what the GGUF exporter and BitnetRunner read):
 * BitLinear layers give their ternary weights; Dense layers (the fp32 twin) are ternarized here.
 * A LoRA adapter that is not merged stays beside them (`lora` of each layer): consumers apply it
 * or refuse, never drop it.
 */
export function lmWeightsOf(model: tf.LayersModel): BitnetLmWeights {
  const config = lmConfigOf(model);
  const gain = (layerName: string): Float32Array => Float32Array.from((weightsByName(model.getLayer(layerName)).gamma as tf.Tensor).dataSync());
  const layers: BitnetLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const proj = {} as BitnetLayerWeights['proj'];
    const lora: NonNullable<BitnetLayerWeights['lora']> = {};
    for (const p of PROJECTIONS) {
      const { base: layer, delta } = linearWithDelta(model.getLayer(tensorName('tfjs', p, i)));
      if (delta !== undefined) lora[p] = delta;
      if (layer instanceof BitLinear) {
        proj[p] = layer.ternaryWeight();
        if (proj[p].groupSize !== 'tensor')
          throw new BitNetError('UNSUPPORTED', `${layer.name}: the LM export needs per-tensor scales`, { field: 'groupSize' });
      } else {
        const kernel = weightsByName(layer).kernel as tf.Tensor;
        const [inF, out] = kernel.shape as [number, number];
        proj[p] = quantizeWeights(kernelToTorch(kernel.dataSync() as Float32Array, inF, out), [out, inF]);
      }
    }
    const norms = Object.fromEntries(LAYER_NORMS.map((role) => [role, gain(tensorName('tfjs', role, i))])) as unknown as Omit<BitnetLayerWeights, 'proj'>;
    layers.push({ ...norms, proj, ...(Object.keys(lora).length > 0 ? { lora } : {}) });
  }
  const tokenEmbedding = Float32Array.from((weightsByName(model.getLayer(tensorName('tfjs', 'tokenEmbedding'))).embeddings as tf.Tensor).dataSync());
  return { config, tokenEmbedding, outputNorm: gain(tensorName('tfjs', 'outputNorm')), layers };
}
