/**
 * A Llama-like decoder (Llama, Qwen2, Qwen3) as one description: its tfjs layers carry the HF module paths,
 * so peft-style targets (`['q_proj', 'v_proj']`, 'all-linear') match as in peft and the
 * safetensors names are the layer names plus `.weight` / `.bias`.
 *
 *   x = embed_tokens(tokens)
 *   per layer: h = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = input_layernorm(x)
 *              (Qwen3: q_norm / k_norm, RMSNorm per head, between the projection and RoPE)
 *              (SubLN: attn_sub_norm before o_proj, ffn_sub_norm before down_proj)
 *              x = h + down_proj(silu(gate_proj(m)) * up_proj(m)),                      m = post_attention_layernorm(h)
 *   logits = lm_head(norm(x))   (or embed_tokens^T when tied)
 */
export const LLAMA_ARCHITECTURE = 'llama';

export const LLAMA_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LlamaProjection = (typeof LLAMA_PROJECTIONS)[number];

/** The module path of a projection in layer `i`. */
export function llamaProjectionPath(i: number, p: LlamaProjection): string {
  const block = p === 'gate_proj' || p === 'up_proj' || p === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${i}.${block}.${p}`;
}

export const LLAMA_NORMS = { input: 'input_layernorm', postAttention: 'post_attention_layernorm', q: 'q_norm', k: 'k_norm' } as const;

/** SubLN's norms (BitDistill), named as transformers' BitNet architecture names them. */
export const SUBLN_NORMS = { attention: 'self_attn.attn_sub_norm', ffn: 'mlp.ffn_sub_norm' } as const;
export const LLAMA_GLOBALS = { embedding: 'model.embed_tokens', norm: 'model.norm', head: 'lm_head' } as const;
