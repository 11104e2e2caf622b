import { z } from 'zod';

const positiveInt = z.number().int().positive();

/** The hyperparameters every decoder of this package shares (BitNet, Llama-like): its zod shape. */
export const DecoderShape = {
  vocabSize: positiveInt,
  /** n_embd (a multiple of 256 where TQ types apply). */
  hiddenSize: positiveInt,
  /** n_ff (a multiple of 256 where TQ types apply). */
  intermediateSize: positiveInt,
  numLayers: positiveInt,
  numHeads: positiveInt,
  numKvHeads: positiveInt,
  contextLength: positiveInt,
  ropeTheta: z.number().positive(),
  rmsNormEps: z.number().positive(),
};
