import { z } from 'zod';
import { BitNetAdapterConfigSchema, LoraConfigSchema } from '../../adapters/index.js';
import { BACKEND_NAMES } from '../backend.js';
import { BitNetConfigSchema } from '../config.js';
import { OptimizerSchema } from '../train/optimizer-config.js';

export { OptimizerSchema, type OptimizerConfig } from '../train/optimizer-config.js';

const positiveInt = z.number().int().positive();

/** The LM's norms are the architecture's own layers, so its projections take no norm options. */
const LmQuantOptionsSchema = BitNetConfigSchema.omit({ useRmsNorm: true, rmsNormEps: true });

export const MlpModelSchema = z
  .object({
    type: z.literal('mlp'),
    /** Hidden layer widths. */
    hidden: z.array(positiveInt).min(1).default([256, 256]),
    /** 'dense' (fp32 baseline) or 'bitlinear' (BitNet from scratch). */
    layer: z.enum(['dense', 'bitlinear']).default('dense'),
    bitnet: BitNetConfigSchema.prefault({}),
  })
  .strict();

export const TfjsModelSchema = z
  .object({
    type: z.literal('tfjs'),
    /** A folder (or its model.json) saved by this toolkit or tfjs-node, relative to the recipe. */
    path: z.string().min(1),
    /** When `path` does not exist yet: a recipe to run first whose final model lands there. */
    fallbackRecipe: z.string().min(1).optional(),
  })
  .strict();

export const BitnetLmModelSchema = z
  .object({
    type: z.literal('bitnet-lm'),
    /** n_embd: a multiple of 256 (TQ types) and of numHeads. */
    hiddenSize: positiveInt.default(256),
    intermediateSize: positiveInt.default(512),
    numLayers: positiveInt.default(2),
    numHeads: positiveInt.default(4),
    numKvHeads: positiveInt.default(4),
    ropeTheta: z.number().positive().default(10000),
    rmsNormEps: z.number().positive().default(1e-5),
    /** FFN gate activation: 'silu' (llama.cpp's bitnet) or 'relu2' (BitNet-b1.58-2B-4T; exports to HF only). */
    hiddenAct: z.enum(['silu', 'relu2']).default('silu'),
    /** 'bitlinear' (BitNet) or 'dense' (the fp32 twin). */
    layer: z.enum(['dense', 'bitlinear']).default('bitlinear'),
    bitnet: LmQuantOptionsSchema.prefault({}),
  })
  .strict();

export const HfModelSchema = z
  .object({
    type: z.literal('hf'),
    /** A HuggingFace model folder (config.json, safetensors, tokenizer.json): Llama, Qwen2 or Qwen3. */
    path: z.string().min(1),
    /** 'pretrained' loads the checkpoint; 'random' builds the same architecture untrained (the from-scratch baseline). */
    weights: z.enum(['pretrained', 'random']).default('pretrained'),
    /** Insert an RMSNorm before o_proj and down_proj (BitDistill's SubLN), initialized to ones. */
    subLn: z.boolean().default(false),
  })
  .strict();

export const GgufModelSchema = z
  .object({
    type: z.literal('gguf'),
    /** A bitnet-architecture GGUF (this toolkit's export, llama.cpp's bitnet): its ternary weights stay frozen integers; adapters train on top. */
    path: z.string().min(1),
  })
  .strict();

export const ModelSchema = z.discriminatedUnion('type', [MlpModelSchema, TfjsModelSchema, BitnetLmModelSchema, HfModelSchema, GgufModelSchema]);

export const MnistDataSchema = z
  .object({
    type: z.literal('mnist'),
    trainSize: positiveInt.max(10_000).default(8000),
    testSize: positiveInt.max(10_000).default(2000),
    /** Seed of the shuffle that splits the 10,000 digits. */
    seed: z.number().int().nonnegative().default(0),
    /** Zero pixels around each 28x28 digit; 2 gives 32x32 = 1024 inputs (group sizes up to 1024 divide it). */
    padding: z.number().int().min(0).max(16).default(0),
  })
  .strict()
  .refine((d) => d.trainSize + d.testSize <= 10_000, { message: 'trainSize + testSize must be at most 10000', path: ['testSize'] });

export const TextDataSchema = z
  .object({
    type: z.literal('text'),
    /** A UTF-8 text file, relative to the recipe. */
    path: z.string().min(1),
    /** Fraction of the text (from the start) used for training; the rest validates. */
    trainFraction: z.number().gt(0).lt(1).default(0.9),
    /** Tokens per training window. */
    contextLength: positiveInt.default(128),
    /** Validation targets scored at each evaluation. */
    evalTokens: positiveInt.default(8192),
    /**
     * 'byte': one token per UTF-8 byte (+ <|endoftext|>), tokenized identically by llama.cpp;
     * 'model': the tokenizer.json of an `hf` model (the whole text at once, no special tokens added).
     */
    tokenizer: z.enum(['byte', 'model']).default('byte'),
  })
  .strict();

const pathOrPaths = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const RecordsDataSchema = z
  .object({
    /** JSONL (one JSON object per line) or Parquet (the HuggingFace datasets formats). */
    type: z.enum(['jsonl', 'parquet']),
    /** A data file or a list of them, relative to the current directory. */
    path: pathOrPaths,
    /** Separate validation file(s); without them the last `validationFraction` of the examples validate. */
    validation: pathOrPaths.optional(),
    /** Share of the examples (the last ones, in file order) held out when there is no validation file. */
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    /** 'text': one text field; 'prompt-completion': two fields; 'messages': chat role/content lists rendered with the model's chat template. */
    format: z.enum(['text', 'prompt-completion', 'messages']).default('messages'),
    /** Field of the text format. */
    textField: z.string().min(1).default('text'),
    /** Fields of the prompt-completion format. */
    promptField: z.string().min(1).default('prompt'),
    completionField: z.string().min(1).default('completion'),
    /** Field of the messages format. */
    messagesField: z.string().min(1).default('messages'),
    /** 'completion': the loss only on completion / assistant tokens (as TRL and axolotl); 'all': on every token. */
    trainOn: z.enum(['completion', 'all']).default('completion'),
    /** Append the tokenizer's end-of-sequence token to each text and completion (a chat template ends turns itself). */
    addEos: z.boolean().default(true),
    /** true: examples end to end in full windows (attention crosses example boundaries); false: one example per window, padded (no crossing). */
    packing: z.boolean().default(true),
    /** Cut each example to this many tokens before packing (default: the window, contextLength + 1, when not packing). */
    maxLength: positiveInt.optional(),
    /** Tokens per training window. */
    contextLength: positiveInt.default(128),
    /** Validation targets scored at each evaluation (at most). */
    evalTokens: positiveInt.default(8192),
    /** Keep the tokenized data next to the data file (.bitnet-cache/, keyed by the files' hash and the tokenizer) so a rerun does not tokenize again. */
    cache: z.boolean().default(true),
  })
  .strict();

export const DataSchema = z.union([MnistDataSchema, TextDataSchema, RecordsDataSchema]);

export const SamplesSchema = z
  .object({
    /** Prompts continued greedily at each evaluation; the text lands in metrics.jsonl and the report. */
    prompts: z.array(z.string().min(1)).min(1),
    /** New tokens per prompt. */
    maxTokens: positiveInt.max(512).default(32),
    /** Render each prompt as a user message through the chat template (with the generation prompt). */
    chat: z.boolean().default(false),
  })
  .strict();

export const AdapterEntrySchema = z.discriminatedUnion('type', [
  BitNetAdapterConfigSchema.omit({ peftType: true })
    .extend({ type: z.literal('bitnet') })
    .strict(),
  LoraConfigSchema.omit({ peftType: true })
    .extend({ type: z.literal('lora') })
    .strict(),
]);

export const LrScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), warmupSteps: z.number().int().nonnegative().default(0) }).strict(),
  z
    .object({
      type: z.literal('cosine'),
      warmupSteps: z.number().int().nonnegative().default(0),
      /** Final lr as a fraction of the peak. */
      minRatio: z.number().min(0).max(1).default(0.1),
    })
    .strict(),
  z.object({ type: z.literal('linear'), warmupSteps: z.number().int().nonnegative().default(0), minRatio: z.number().min(0).max(1).default(0) }).strict(),
  z
    .object({
      /** BitNet's two stages: linear decay from the peak, then from `secondPeakRatio` of it at `switchAt` (fraction of training). */
      type: z.literal('two-stage'),
      warmupSteps: z.number().int().nonnegative().default(0),
      switchAt: z.number().gt(0).lt(1).default(0.5),
      secondPeakRatio: z.number().gt(0).max(1).default(0.66),
      minRatio: z.number().min(0).max(1).default(0.1),
    })
    .strict(),
]);

export const TrainSchema = z
  .object({
    optimizer: OptimizerSchema.prefault({}),
    lr: z.number().positive().default(1e-3),
    schedule: LrScheduleSchema.prefault({ type: 'constant' }),
    /** Passes over the training split (default 5); null unsets an inherited value. */
    epochs: positiveInt.nullable().optional(),
    /** Optimizer steps (instead of epochs); null unsets an inherited value. */
    steps: positiveInt.nullable().optional(),
    batchSize: positiveInt.default(128),
    /** Clip gradients to this global norm. */
    gradClip: z.number().positive().optional(),
    /** Evaluate on the held-out split every N steps (and at the end). */
    evalInterval: positiveInt.optional(),
    logInterval: positiveInt.default(10),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict()
  .refine((t) => t.epochs == null || t.steps == null, {
    message: 'give epochs or steps, not both (set the other to null to unset an inherited value)',
    path: ['steps'],
  });

export const QuantWarmupSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('linear'), steps: positiveInt }).strict(),
  z.object({ type: z.literal('exponential'), steps: positiveInt, k: z.number().positive().default(3) }).strict(),
  z.object({ type: z.literal('sigmoid'), steps: positiveInt, k: z.number().positive().default(10) }).strict(),
]);

export const DistillSchema = z
  .object({
    /** The frozen full-precision teacher: an HF model folder; default the `hf` model's own checkpoint. */
    teacher: z.string().min(1).optional(),
    /** Softmax temperature of the logits distillation. */
    temperature: z.number().positive().default(2),
    /** loss = (1 - alpha) * cross-entropy + alpha * T^2 * KL(teacher || student) at temperature T. */
    alpha: z.number().min(0).max(1).default(0.5),
    /** BitDistill's MiniLM attention-relation loss at one layer (q, k and v self-relations), added with this weight. */
    attentionRelation: z
      .object({
        /** Layer index; negative counts from the end (-1: the last). */
        layer: z.number().int().default(-1),
        weight: z.number().positive().default(1),
      })
      .strict()
      .optional(),
  })
  .strict();

export const OutputSchema = z
  .object({
    /** Run folder, relative to the current directory. */
    dir: z.string().min(1),
    /** Write a checkpoint every N steps (and at the end). */
    checkpointInterval: positiveInt.default(100),
    keepLast: positiveInt.default(2),
    /** Extra exports of the final model. */
    export: z.array(z.enum(['tfjs', 'safetensors'])).default(['tfjs']),
  })
  .strict();

export const RecipeSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    backend: z.enum(BACKEND_NAMES).default('wasm'),
    model: ModelSchema,
    data: DataSchema,
    adapters: z.array(AdapterEntrySchema).default([]),
    train: TrainSchema.prefault({}),
    quantWarmup: QuantWarmupSchema.prefault({ type: 'none' }),
    /** Distillation from a frozen full-precision teacher (text data only); null unsets an inherited one. */
    distill: DistillSchema.nullable().optional(),
    /** Sample generations at each evaluation (language models); null unsets an inherited one. */
    samples: SamplesSchema.nullable().optional(),
    output: OutputSchema,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.data.type === 'text' && r.data.tokenizer === 'model' && r.model.type !== 'hf') {
      ctx.addIssue({ code: 'custom', path: ['data', 'tokenizer'], message: 'tokenizer \'model\' needs an hf model (model.type "hf")' });
    }
    if (r.model.type === 'hf' && r.data.type === 'text' && r.data.tokenizer !== 'model') {
      ctx.addIssue({ code: 'custom', path: ['data', 'tokenizer'], message: "an hf model reads text through its own tokenizer: set data.tokenizer to 'model'" });
    }
    if ((r.data.type === 'jsonl' || r.data.type === 'parquet') && r.model.type !== 'hf' && r.model.type !== 'bitnet-lm' && r.model.type !== 'gguf') {
      ctx.addIssue({ code: 'custom', path: ['data', 'type'], message: 'jsonl and parquet data train a language model (model.type hf, bitnet-lm or gguf)' });
    }
    if (r.samples != null && r.data.type === 'mnist') {
      ctx.addIssue({ code: 'custom', path: ['samples'], message: 'samples are generated by language models (text, jsonl or parquet data)' });
    }
    if (r.distill != null && (r.data.type !== 'text' || (r.distill.teacher === undefined && r.model.type !== 'hf'))) {
      ctx.addIssue({ code: 'custom', path: ['distill', 'teacher'], message: 'distillation needs text data and a teacher (an hf model folder)' });
    }
  });

export type Recipe = z.infer<typeof RecipeSchema>;
export type RecipeInput = z.input<typeof RecipeSchema>;
export type AdapterEntry = z.infer<typeof AdapterEntrySchema>;
export type LrSchedule = z.infer<typeof LrScheduleSchema>;
export type QuantWarmup = z.infer<typeof QuantWarmupSchema>;
export type DistillConfig = z.infer<typeof DistillSchema>;
export type TrainConfig = z.infer<typeof TrainSchema>;
export type RecordsData = z.infer<typeof RecordsDataSchema>;
export type SamplesConfig = z.infer<typeof SamplesSchema>;
