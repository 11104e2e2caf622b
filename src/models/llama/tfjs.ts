import * as tf from '@tensorflow/tfjs';
import { CausalAttention } from '../../nn/causal-attention.js';
import { RMSNorm } from '../../nn/rms-norm.js';
import { SwiGlu } from '../../nn/swiglu.js';
import { TiedEmbedding } from '../../nn/tied-embedding.js';
import { MODEL_METADATA_KEY } from '../bitnet/spec.js';
import { LlamaConfigSchema, type LlamaConfigInput } from './config.js';
import { LLAMA_ARCHITECTURE, LLAMA_GLOBALS, LLAMA_NORMS, llamaProjectionPath, SUBLN_NORMS, type LlamaProjection } from './spec.js';

/**
 * A Llama-like decoder (src/models/llama/spec.ts) as a trainable tfjs model: int32 tokens [B, T] in,
 * logits [B, T, vocab] out. Projections are Dense layers named by their HF module paths, so the
 * BitNet adapter turns them into BitLinear and LoRA targets them as in peft.
 */
export function buildLlama(config: LlamaConfigInput): tf.LayersModel {
  const c = LlamaConfigSchema.parse(config);
  const units: Record<LlamaProjection, number> = {
    q_proj: c.headDim * c.numHeads,
    k_proj: c.headDim * c.numKvHeads,
    v_proj: c.headDim * c.numKvHeads,
    o_proj: c.hiddenSize,
    gate_proj: c.intermediateSize,
    up_proj: c.intermediateSize,
    down_proj: c.hiddenSize,
  };
  const apply = (layer: tf.layers.Layer, input: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor => layer.apply(input) as tf.SymbolicTensor;
  const linear = (i: number, p: LlamaProjection, input: tf.SymbolicTensor): tf.SymbolicTensor =>
    apply(
      tf.layers.dense({ units: units[p], useBias: c.attentionBias && (p === 'q_proj' || p === 'k_proj' || p === 'v_proj'), name: llamaProjectionPath(i, p) }),
      input,
    );
  const norm = (name: string): RMSNorm => new RMSNorm({ name, epsilon: c.rmsNormEps });
  /** RMSNorm over each head's slice of a [B, T, heads * headDim] projection. */
  const headNorm = (name: string, x: tf.SymbolicTensor, heads: number): tf.SymbolicTensor => {
    const split = apply(tf.layers.reshape({ targetShape: [-1, heads, c.headDim], name: `${name}.split_heads` }), x);
    return apply(tf.layers.reshape({ targetShape: [-1, heads * c.headDim], name: `${name}.merge_heads` }), apply(norm(name), split));
  };
  const tokens = tf.input({ shape: [null], dtype: 'int32', name: 'tokens' });
  const embedding = new TiedEmbedding({ name: LLAMA_GLOBALS.embedding, vocabSize: c.vocabSize, dim: c.hiddenSize });
  let x = apply(embedding, tokens);
  for (let i = 0; i < c.numLayers; i++) {
    const b = `model.layers.${i}`;
    const n = apply(norm(`${b}.${LLAMA_NORMS.input}`), x);
    const attention = new CausalAttention({
      name: `${b}.self_attn`,
      numHeads: c.numHeads,
      numKvHeads: c.numKvHeads,
      ropeTheta: c.ropeTheta,
      ...(c.ropeFreqFactors === undefined ? {} : { ropeFreqFactors: c.ropeFreqFactors }),
    });
    const q = linear(i, 'q_proj', n);
    const k = linear(i, 'k_proj', n);
    const qk = c.qkNorm ? [headNorm(`${b}.self_attn.${LLAMA_NORMS.q}`, q, c.numHeads), headNorm(`${b}.self_attn.${LLAMA_NORMS.k}`, k, c.numKvHeads)] : [q, k];
    const attn = apply(attention, [...qk, linear(i, 'v_proj', n)]);
    const subLn = (name: string, input: tf.SymbolicTensor): tf.SymbolicTensor => (c.subLn ? apply(norm(`${b}.${name}`), input) : input);
    const h = apply(tf.layers.add({ name: `${b}.attn_residual` }), [x, linear(i, 'o_proj', subLn(SUBLN_NORMS.attention, attn))]);
    const m = apply(norm(`${b}.${LLAMA_NORMS.postAttention}`), h);
    const glu = apply(new SwiGlu({ name: `${b}.mlp.glu` }), [linear(i, 'gate_proj', m), linear(i, 'up_proj', m)]);
    x = apply(tf.layers.add({ name: `${b}.mlp_residual` }), [h, linear(i, 'down_proj', subLn(SUBLN_NORMS.ffn, glu))]);
  }
  const normed = apply(norm(LLAMA_GLOBALS.norm), x);
  const logits = c.tiedHead ? apply(embedding, normed) : apply(tf.layers.dense({ units: c.vocabSize, useBias: false, name: LLAMA_GLOBALS.head }), normed);
  const model = tf.model({ inputs: tokens, outputs: logits, name: c.family });
  model.setUserDefinedMetadata({ [MODEL_METADATA_KEY]: { architecture: LLAMA_ARCHITECTURE, config: c } });
  return model;
}
