import { z } from 'zod';
import { adapterBaseShape, baseFromPeftJson } from '../common.js';

export const LORA_PEFT_TYPE = 'LORA';

export const LoraConfigSchema = z
  .object({
    peftType: z.literal(LORA_PEFT_TYPE),
    ...adapterBaseShape,
    r: z.number().int().positive().default(8),
    loraAlpha: z.number().positive().default(8),
    loraDropout: z.number().min(0).lt(1).default(0),
    /** scaling = alpha / sqrt(r) (rank-stabilized LoRA). */
    useRslora: z.boolean().default(false),
    /** Seed of lora_A's initialization (each layer adds its index). */
    seed: z.number().int().nonnegative().default(0),
    /** DoRA: weight-decomposed LoRA, a trained magnitude per output (peft's use_dora). */
    useDora: z.boolean().default(false),
  })
  .strict();

export type LoraConfig = z.infer<typeof LoraConfigSchema>;

export function loraToPeftJson(c: LoraConfig): Record<string, unknown> {
  return {
    alpha_pattern: {},
    bias: 'none',
    fan_in_fan_out: false,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    r: c.r,
    rank_pattern: {},
    use_dora: c.useDora,
    use_rslora: c.useRslora,
  };
}

export function loraFromPeftJson(json: Record<string, unknown>): Record<string, unknown> {
  return {
    peftType: LORA_PEFT_TYPE,
    ...baseFromPeftJson(json),
    r: json.r,
    loraAlpha: json.lora_alpha,
    loraDropout: json.lora_dropout,
    useRslora: json.use_rslora ?? false,
    useDora: json.use_dora ?? false,
  };
}

declare module '../../src/adapter/types.js' {
  interface PeftMethods {
    LORA: { input: z.input<typeof LoraConfigSchema>; config: LoraConfig };
  }
}
