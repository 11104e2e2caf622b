import { z } from 'zod';
import { zodToBitNetError } from '../../config.js';
import { BitNetError } from '../../errors.js';
import { DecoderShape } from '../decoder-shape.js';

/** Hyperparameters of a llama-like BitNet decoder (llama.cpp's `bitnet` architecture, HF `BitNetForCausalLM`). */
export const BitnetLmConfigSchema = z
  .object({
    ...DecoderShape,
    /** FFN gate activation: 'silu' (1bitLLM, what llama.cpp's bitnet runs; default) or 'relu2' (BitNet-b1.58-2B-4T). */
    hiddenAct: z.enum(['silu', 'relu2']).optional(),
    /**
     * The Llama family's variations, for converted HF models (src/models/llama): the width of a head
     * (default hiddenSize / numHeads), no SubLN norms (BitNet has them), q/k/v bias (Qwen2), per-head
     * q/k RMSNorm (Qwen3), an untied output head, llama3 RoPE frequency factors.
     */
    headDim: z.number().int().positive().optional(),
    subLn: z.boolean().optional(),
    attentionBias: z.boolean().optional(),
    qkNorm: z.boolean().optional(),
    tiedHead: z.boolean().optional(),
    ropeFreqFactors: z.array(z.number().positive()).optional(),
  })
  .strict();

export type BitnetLmConfig = z.infer<typeof BitnetLmConfigSchema>;

export const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type Projection = (typeof PROJECTIONS)[number];

export function headDim(c: BitnetLmConfig): number {
  return c.headDim ?? c.hiddenSize / c.numHeads;
}

/** Validates a config: its fields (zod) and how they fit together. */
export function checkBitnetConfig(c: BitnetLmConfig): BitnetLmConfig {
  const parsed = BitnetLmConfigSchema.safeParse(c);
  if (!parsed.success) throw zodToBitNetError(parsed.error, 'BitNet LM config', 'model');
  const problems: string[] = [];
  if (c.headDim === undefined && c.hiddenSize % c.numHeads !== 0) problems.push('hiddenSize must be a multiple of numHeads');
  if (c.numHeads % c.numKvHeads !== 0) problems.push('numHeads must be a multiple of numKvHeads');
  if (headDim(c) % 2 !== 0) problems.push('the head dimension must be even (RoPE)');
  if (problems.length > 0) throw new BitNetError('INVALID_CONFIG', `bad BitNet LM config: ${problems.join('; ')}`, { field: 'model' });
  return parsed.data;
}

/** Shapes [out, in] of each projection. */
export function projectionShape(c: BitnetLmConfig, p: Projection): [number, number] {
  const kv = headDim(c) * c.numKvHeads;
  const qWidth = headDim(c) * c.numHeads;
  switch (p) {
    case 'q':
      return [qWidth, c.hiddenSize];
    case 'o':
      return [c.hiddenSize, qWidth];
    case 'k':
    case 'v':
      return [kv, c.hiddenSize];
    case 'gate':
    case 'up':
      return [c.intermediateSize, c.hiddenSize];
    case 'down':
      return [c.hiddenSize, c.intermediateSize];
  }
}
