import { z } from 'zod';

/** Adam, AdamW or SGD and their hyperparameters (a recipe's train.optimizer). */
export const OptimizerSchema = z
  .object({
    type: z.enum(['adam', 'adamw', 'sgd']).default('adamw'),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
    eps: z.number().positive().default(1e-8),
    momentum: z.number().min(0).lt(1).default(0),
    /** Decoupled for adamw, L2 for adam and sgd. */
    weightDecay: z.number().min(0).default(0),
    /** BitNet's two-stage weight decay: 0 after this fraction of training. */
    weightDecayOffAt: z.number().gt(0).max(1).optional(),
  })
  .strict();

export type OptimizerConfig = z.infer<typeof OptimizerSchema>;
