import { z } from 'zod';
import { QuantOptionsShape } from '../../src/config.js';
import { adapterBaseShape, baseFromPeftJson } from '../common.js';

export const BITNET_PEFT_TYPE = 'BITNET';

export const BitNetAdapterConfigSchema = z
  .object({
    peftType: z.literal(BITNET_PEFT_TYPE),
    ...adapterBaseShape,
    ...QuantOptionsShape,
    /** Starting quantization strength (a warm-up schedule raises it to 1). */
    quantLambda: z.number().min(0).max(1).default(1),
  })
  .strict();

export type BitNetAdapterConfig = z.infer<typeof BitNetAdapterConfigSchema>;

export function bitnetToPeftJson(c: BitNetAdapterConfig): Record<string, unknown> {
  return {
    group_size: c.groupSize,
    activation_bits: c.activationBits,
    activation_scope: c.activationScope,
    eps: c.eps,
    use_rms_norm: c.useRmsNorm,
    rms_norm_eps: c.rmsNormEps,
    quant_lambda: c.quantLambda,
  };
}

export function bitnetFromPeftJson(json: Record<string, unknown>): Record<string, unknown> {
  return {
    peftType: BITNET_PEFT_TYPE,
    ...baseFromPeftJson(json),
    groupSize: json.group_size,
    activationBits: json.activation_bits,
    activationScope: json.activation_scope,
    eps: json.eps,
    useRmsNorm: json.use_rms_norm,
    rmsNormEps: json.rms_norm_eps,
    quantLambda: json.quant_lambda,
  };
}

declare module '../../src/adapter/types.js' {
  interface PeftMethods {
    BITNET: { input: z.input<typeof BitNetAdapterConfigSchema>; config: BitNetAdapterConfig };
  }
}
