import type { BitnetLmConfig, Projection } from './config.js';

/**
 * The BitNet b1.58 decoder as one declarative description (REFERENCE.md §2, §4): what the tfjs
 * builder, the inference runner and the GGUF and HuggingFace readers and writers all read.
 *
 *   x = embed(tokens)
 *   per layer: h = x + o(attn_sub_norm(attention(rope(q(n)), rope(k(n)), v(n)))),  n = attn_norm(x)
 *              x = h + down(ffn_sub_norm(act(gate(m)) * up(m))),                    m = ffn_norm(h)
 *   logits = embed^T(output_norm(x))   (tied head)
 */
export const BITNET_ARCHITECTURE = 'bitnet';

/** The worlds that name tensors: tfjs layer names, GGUF tensor names (without `.weight`), HF parameter names (without `.weight`). */
export type TensorNaming = 'tfjs' | 'gguf' | 'hf';

export type LayerNorm = 'attnNorm' | 'attnSubNorm' | 'ffnNorm' | 'ffnSubNorm';
export type LayerTensor = LayerNorm | Projection;
export type GlobalTensor = 'tokenEmbedding' | 'outputNorm';

type Names = Readonly<Record<TensorNaming, string>>;

/** Per-layer tensors by role, as each world names them. */
export const LAYER_TENSORS: Readonly<Record<LayerTensor, Names>> = {
  attnNorm: { tfjs: 'attn_norm', gguf: 'attn_norm', hf: 'input_layernorm' },
  q: { tfjs: 'attn_q', gguf: 'attn_q', hf: 'self_attn.q_proj' },
  k: { tfjs: 'attn_k', gguf: 'attn_k', hf: 'self_attn.k_proj' },
  v: { tfjs: 'attn_v', gguf: 'attn_v', hf: 'self_attn.v_proj' },
  attnSubNorm: { tfjs: 'attn_sub_norm', gguf: 'attn_sub_norm', hf: 'self_attn.attn_sub_norm' },
  o: { tfjs: 'attn_output', gguf: 'attn_output', hf: 'self_attn.o_proj' },
  ffnNorm: { tfjs: 'ffn_norm', gguf: 'ffn_norm', hf: 'post_attention_layernorm' },
  gate: { tfjs: 'ffn_gate', gguf: 'ffn_gate', hf: 'mlp.gate_proj' },
  up: { tfjs: 'ffn_up', gguf: 'ffn_up', hf: 'mlp.up_proj' },
  ffnSubNorm: { tfjs: 'ffn_sub_norm', gguf: 'ffn_sub_norm', hf: 'mlp.ffn_sub_norm' },
  down: { tfjs: 'ffn_down', gguf: 'ffn_down', hf: 'mlp.down_proj' },
};

export const GLOBAL_TENSORS: Readonly<Record<GlobalTensor, Names>> = {
  tokenEmbedding: { tfjs: 'token_embd', gguf: 'token_embd', hf: 'model.embed_tokens' },
  outputNorm: { tfjs: 'output_norm', gguf: 'output_norm', hf: 'model.norm' },
};

export const LAYER_NORMS: readonly LayerNorm[] = ['attnNorm', 'attnSubNorm', 'ffnNorm', 'ffnSubNorm'];

/** Norm placement: each norm and the projections that read its output (pre-norms, then BitNet's sub-LN before o and down). */
export const NORM_FEEDS: Readonly<Record<LayerNorm, readonly Projection[]>> = {
  attnNorm: ['q', 'k', 'v'],
  attnSubNorm: ['o'],
  ffnNorm: ['gate', 'up'],
  ffnSubNorm: ['down'],
};

/** Rotary embedding style: NeoX halves (src/nn/rope.ts), llama.cpp's angles. */
export const ROPE_STYLE = 'neox';

/** The name of layer `layer`'s tensor `role` (or a global tensor) in one naming. */
export function tensorName(naming: TensorNaming, role: LayerTensor, layer: number): string;
export function tensorName(naming: TensorNaming, role: GlobalTensor): string;
export function tensorName(naming: TensorNaming, role: LayerTensor | GlobalTensor, layer?: number): string {
  if (layer === undefined) return GLOBAL_TENSORS[role as GlobalTensor][naming];
  const name = LAYER_TENSORS[role as LayerTensor][naming];
  return naming === 'hf' ? `model.layers.${layer}.${name}` : `blk.${layer}.${name}`;
}

type ConfigKey = keyof BitnetLmConfig;

/** GGUF metadata keys of the config (`bitnet.<key>`), with the value a reader assumes when one is absent. */
export const GGUF_CONFIG_KEYS: readonly { field: ConfigKey; key: string; type: 'u32' | 'f32'; fallback?: (c: Partial<BitnetLmConfig>) => number }[] = [
  { field: 'contextLength', key: 'context_length', type: 'u32' },
  { field: 'hiddenSize', key: 'embedding_length', type: 'u32' },
  { field: 'numLayers', key: 'block_count', type: 'u32' },
  { field: 'intermediateSize', key: 'feed_forward_length', type: 'u32' },
  { field: 'numHeads', key: 'attention.head_count', type: 'u32' },
  { field: 'numKvHeads', key: 'attention.head_count_kv', type: 'u32', fallback: (c) => c.numHeads ?? 1 },
  { field: 'ropeTheta', key: 'rope.freq_base', type: 'f32', fallback: () => 10000 },
  { field: 'rmsNormEps', key: 'attention.layer_norm_rms_epsilon', type: 'f32' },
  { field: 'vocabSize', key: 'vocab_size', type: 'u32' },
];

/** HuggingFace config.json keys of the config, with transformers' defaults. */
export const HF_CONFIG_KEYS: readonly { field: ConfigKey; key: string; fallback?: (c: Partial<BitnetLmConfig>) => number | string }[] = [
  { field: 'vocabSize', key: 'vocab_size' },
  { field: 'hiddenSize', key: 'hidden_size' },
  { field: 'intermediateSize', key: 'intermediate_size' },
  { field: 'numLayers', key: 'num_hidden_layers' },
  { field: 'numHeads', key: 'num_attention_heads' },
  { field: 'numKvHeads', key: 'num_key_value_heads', fallback: (c) => c.numHeads ?? 1 },
  { field: 'contextLength', key: 'max_position_embeddings', fallback: () => 2048 },
  { field: 'rmsNormEps', key: 'rms_norm_eps', fallback: () => 1e-5 },
  { field: 'ropeTheta', key: 'rope_theta', fallback: () => 10000 },
  { field: 'hiddenAct', key: 'hidden_act', fallback: () => 'silu' },
];

/** Where a saved tfjs model keeps its architecture and config (model.json `userDefinedMetadata`). */
export const MODEL_METADATA_KEY = 'bitnet_quantize';

export interface ModelMetadata {
  architecture: typeof BITNET_ARCHITECTURE;
  config: BitnetLmConfig;
}
