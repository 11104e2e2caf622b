import { z } from 'zod';
import { zodToBitNetError } from '../../config.js';
import { BitNetError } from '../../errors.js';
import { llama3FreqFactors } from '../../nn/rope.js';
import { DecoderShape } from '../decoder-shape.js';

/** HF families read as one Llama-like decoder; the model_type names them. */
export const LLAMA_FAMILIES = ['llama', 'qwen2', 'qwen3'] as const;
export type LlamaFamily = (typeof LLAMA_FAMILIES)[number];

/** A Llama-like decoder (pre-norm RMSNorm, GQA, NeoX RoPE, SiLU-gated FFN) as HF's config.json describes it. */
export const LlamaConfigSchema = z
  .object({
    family: z.enum(LLAMA_FAMILIES),
    ...DecoderShape,
    /** Width of one attention head (Qwen3 and some Llamas: not hiddenSize / numHeads). */
    headDim: z.number().int().positive(),
    /** Per-head RMSNorm on q and k before RoPE (Qwen3's q_norm, k_norm). */
    qkNorm: z.boolean(),
    /** The output head is the token embedding (tie_word_embeddings). */
    tiedHead: z.boolean(),
    /** q/k/v projections carry a bias (Qwen2; Llama's attention_bias). */
    attentionBias: z.boolean(),
    /** BitDistill's SubLN: an RMSNorm before o_proj and before down_proj (not in the HF source architecture). */
    subLn: z.boolean().default(false),
    /** llama3 rope scaling: each RoPE pair's angle is divided by its factor. */
    ropeFreqFactors: z.array(z.number().positive()).optional(),
  })
  .strict();

export type LlamaConfig = z.infer<typeof LlamaConfigSchema>;
export type LlamaConfigInput = z.input<typeof LlamaConfigSchema>;

type Json = Record<string, unknown>;

const num = (json: Json, key: string, fallback?: number): number => {
  const v = json[key] ?? fallback;
  if (typeof v !== 'number') throw new BitNetError('INVALID_CONFIG', `config.json: '${key}' is missing or not a number`, { field: key });
  return v;
};

/**
 * Reads a HuggingFace config.json (transformers 4: top-level rope_theta and rope_scaling;
 * transformers 5: rope_parameters). Anything but the supported families is UNSUPPORTED.
 */
/** Wider heads than any model has (the widest are 256): refused before anything is sized by it. */
const MAX_HEAD_DIM = 4096;

export function llamaConfigFromHf(json: Json): LlamaConfig {
  const family = json.model_type;
  if (typeof family !== 'string' || !(LLAMA_FAMILIES as readonly string[]).includes(family)) {
    throw new BitNetError('UNSUPPORTED', `model_type '${String(family)}' is not supported`, {
      field: 'model_type',
      hint: `supported: ${LLAMA_FAMILIES.join(', ')} (and BitNet checkpoints through importHfBitnet)`,
    });
  }
  if (json.hidden_act !== undefined && json.hidden_act !== 'silu') {
    throw new BitNetError('UNSUPPORTED', `hidden_act ${JSON.stringify(json.hidden_act)} is not supported (silu)`, { field: 'hidden_act' });
  }
  const rope = ((json.rope_parameters ?? json.rope_scaling) as Json | null | undefined) ?? {};
  const ropeTheta = num(rope, 'rope_theta', (json.rope_theta as number | undefined) ?? 10000);
  const hiddenSize = num(json, 'hidden_size');
  const numHeads = num(json, 'num_attention_heads');
  const headDim = num(json, 'head_dim', hiddenSize / numHeads);
  if (!Number.isSafeInteger(headDim) || headDim <= 0 || headDim > MAX_HEAD_DIM) {
    throw new BitNetError('INVALID_CONFIG', `config.json's head size ${headDim} is not a whole number from 1 to ${MAX_HEAD_DIM}`, { field: 'head_dim' });
  }
  if (json.use_sliding_window === true) {
    throw new BitNetError('UNSUPPORTED', 'sliding-window attention is not supported', { field: 'use_sliding_window', hint: 'set use_sliding_window to false' });
  }
  const ropeType = (rope.rope_type ?? rope.type ?? 'default') as string;
  if (ropeType !== 'default' && ropeType !== 'llama3') {
    throw new BitNetError('UNSUPPORTED', `rope type '${ropeType}' is not supported (default, llama3)`, { field: 'rope_parameters.rope_type' });
  }
  const config = {
    family: family as LlamaFamily,
    vocabSize: num(json, 'vocab_size'),
    hiddenSize,
    intermediateSize: num(json, 'intermediate_size'),
    numLayers: num(json, 'num_hidden_layers'),
    numHeads,
    headDim,
    qkNorm: family === 'qwen3',
    numKvHeads: num(json, 'num_key_value_heads', numHeads),
    contextLength: num(json, 'max_position_embeddings', 2048),
    ropeTheta,
    rmsNormEps: num(json, 'rms_norm_eps', 1e-6),
    // transformers' Llama and Qwen configs default to an untied head
    tiedHead: json.tie_word_embeddings === true,
    attentionBias: family === 'qwen2' || json.attention_bias === true,
    ...(ropeType === 'llama3'
      ? {
          ropeFreqFactors: Array.from(
            llama3FreqFactors(headDim, ropeTheta, {
              factor: num(rope, 'factor'),
              lowFreqFactor: num(rope, 'low_freq_factor'),
              highFreqFactor: num(rope, 'high_freq_factor'),
              originalContext: num(rope, 'original_max_position_embeddings'),
            }),
          ),
        }
      : {}),
  };
  const parsed = LlamaConfigSchema.safeParse(config);
  if (!parsed.success) throw zodToBitNetError(parsed.error, 'config.json');
  if (numHeads % config.numKvHeads !== 0)
    throw new BitNetError('INVALID_CONFIG', 'num_attention_heads must be a multiple of num_key_value_heads', { field: 'num_key_value_heads' });
  return parsed.data;
}
