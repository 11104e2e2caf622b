import { z } from 'zod';
import { BitNetError } from './errors.js';
import { isPowerOfTwo } from './quant/validate.js';

export const GroupSizeSchema = z.union([
  z.literal('tensor'),
  z.number().int().positive().refine(isPowerOfTwo, { message: "groupSize must be 'tensor' or a power of two" }),
]);

/** How a BitLinear layer quantizes: weights, activations, and its optional own norm. */
export const QuantOptionsShape = {
  /** 'tensor': one beta per weight matrix (the paper); a power of two: one beta per group of a row. */
  groupSize: GroupSizeSchema.default('tensor'),
  /** Bits of the activation integers, 2..8. */
  activationBits: z.number().int().min(2).max(8).default(8),
  /** 'token': one absmax scale per token (the reference); 'tensor': one per tensor. */
  activationScope: z.enum(['token', 'tensor']).default('token'),
  /** Lower bound of the weight and activation scales' denominators. */
  eps: z.number().positive().default(1e-5),
  /**
   * An RMSNorm with a learnable gain inside the layer, before activation quantization (the paper's
   * BitLinear). Off by default, everywhere: in the BitNet LM the norms are the architecture's own
   * layers (attn_norm, attn_sub_norm, ...), as in HF and llama.cpp, and a converted pretrained
   * Dense layer has none (adding one changes its function). Turn it on for an MLP from scratch.
   */
  useRmsNorm: z.boolean().default(false),
  rmsNormEps: z.number().positive().default(1e-5),
};

/** The one schema of quantization options: BitLinear, recipes and the BitNet adapter derive from it. */
export const BitNetConfigSchema = z.object(QuantOptionsShape).strict();

export type BitNetConfig = z.infer<typeof BitNetConfigSchema>;
export type BitNetConfigInput = z.input<typeof BitNetConfigSchema>;

export const BITNET_PRESETS = {
  /** BitNet b1.58 as published: per-tensor absmean weights, per-token int8 activations, sub-LN. */
  paper: { groupSize: 'tensor', activationBits: 8, activationScope: 'token', useRmsNorm: true },
  /** Per-group weight scales (128 weights a group): finer scales for fine-tuning pretrained models. */
  grouped: { groupSize: 128, activationBits: 8, activationScope: 'token', useRmsNorm: true },
} as const satisfies Record<string, BitNetConfigInput>;

export type BitNetPresetName = keyof typeof BITNET_PRESETS;

/** Joins a zod issue path into the dotted/bracketed form used in error messages: `a.b[0]`. */
export function formatIssuePath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export interface ConfigProblem {
  /** JSON path of the offending value, `train.lr` or `adapters[0].r`. */
  path: string;
  message: string;
}

/** One problem per offending value; an unknown key is reported at its own path. */
export function configProblems(error: z.ZodError, prefix = ''): ConfigProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatIssuePath([...issue.path, key], prefix), message: 'unknown key' }))
      : [{ path: formatIssuePath(issue.path, prefix), message: issue.message }],
  );
}

/** Turns a zod failure into one BitNetError listing every problem with its path. */
export function zodToBitNetError(error: z.ZodError, what: string, prefix = ''): BitNetError {
  const problems = configProblems(error, prefix);
  return new BitNetError('INVALID_CONFIG', `invalid ${what}:\n  ${problems.map((p) => `${p.path}: ${p.message}`).join('\n  ')}`, {
    field: problems[0]?.path ?? prefix,
    cause: error,
  });
}

/** Validates a config (or a preset name) and fills in defaults. */
export function parseBitNetConfig(input: BitNetConfigInput | BitNetPresetName = {}): BitNetConfig {
  if (typeof input === 'string') {
    const preset = (BITNET_PRESETS as Record<string, BitNetConfigInput>)[input];
    if (preset === undefined) {
      throw new BitNetError('INVALID_CONFIG', `unknown preset '${input}'`, {
        field: 'preset',
        hint: `one of ${Object.keys(BITNET_PRESETS).join(', ')}`,
      });
    }
    return parseBitNetConfig(preset);
  }
  const result = BitNetConfigSchema.safeParse(input);
  if (!result.success) throw zodToBitNetError(result.error, 'BitNet config');
  return result.data;
}
