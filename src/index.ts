export { BitNetError, isBitNetError, USER_ERROR_CODES, INTERNAL_ERROR_CODES } from './errors.js';
export type { BitNetErrorCode, BitNetErrorOptions, UserErrorCode, InternalErrorCode } from './errors.js';
export { BitNetConfigSchema, GroupSizeSchema, BITNET_PRESETS, parseBitNetConfig, zodToBitNetError, formatIssuePath } from './config.js';
export type { BitNetConfig, BitNetConfigInput, BitNetPresetName } from './config.js';
export { quantizeWeights, TernaryWeight, DEFAULT_EPS } from './quant/weight.js';
export type { GroupSize, WeightQuantOptions } from './quant/weight.js';
export { quantizeActivations, QuantizedActivations, integerRange } from './quant/activation.js';
export type { ActivationScope, ActivationQuantOptions } from './quant/activation.js';
export { roundHalfEven, roundHalfAway } from './quant/round.js';
export {
  TERNARY_BLOCK,
  TQ2_QS_BYTES,
  TQ1_QS_BYTES,
  paddedRowLength,
  packTernary2,
  unpackTernary2,
  packTernaryBase3,
  unpackTernaryBase3,
  packHfWeights,
  unpackHfWeights,
  hfPackedRows,
  encodeTrits,
  decodeTrit,
  packTq2Block,
  packTq1Block,
} from './quant/pack.js';
export type { TernaryShape } from './quant/pack.js';
export { WEIGHT_STORAGE_FORMATS, storageByteSize } from './quant/storage.js';
export type { WeightStorageFormat } from './quant/storage.js';
export { SeededRandom, randomNormalArray } from './util/random.js';
export { selectBackend, BACKEND_NAMES } from './backend.js';
export type { BackendName, ConcreteBackend, ModuleImporter } from './backend.js';
export { BitLinear, bitLinear } from './nn/bit-linear.js';
export { prepareInference } from './nn/prepare-inference.js';
export type { BitLinearArgs } from './nn/bit-linear.js';
export { RMSNorm, rmsNormLayer, rmsNorm } from './nn/rms-norm.js';
export type { RMSNormArgs } from './nn/rms-norm.js';
export { registerLayers, LAYER_PACKAGE } from './nn/register.js';
export { kernelToTorch, torchToKernel } from './nn/layout.js';
export { straightThrough, fakeQuantActivations, fakeQuantKernel, quantizeActivationsTensor, quantizeKernelTensor } from './quant/ste.js';
export { fileSystem, saveModel, loadModel, registerFileRouters } from './formats/tfjs-fs.js';
export { buildMlp } from './models/mlp.js';
export type { MlpOptions } from './models/mlp.js';
export { loadMnistDigits, mnistSplit, MNIST_PIXELS } from './data/mnist.js';
export type { LabeledImages, MnistSplit } from './data/mnist.js';
export { seededPermutation } from './data/shuffle.js';
export { PeftModel } from './adapter/peft-model.js';
export type { PeftModelOptions } from './adapter/peft-model.js';
export { getPeftModel, injectAdapter, loadPeftModel, peftConfig } from './adapter/peft.js';
export type { DynamicPeftConfig } from './adapter/peft.js';
export type { PeftConfigInput } from './adapter/peft.js';
export { registerAdapter, getAdapterMethod, registeredAdapters } from './adapter/registry.js';
export { layerStateDict } from './adapter/torch-names.js';
export { matchTargets, pathMatches } from './adapter/targets.js';
export type { TargetModules, TargetRules, CandidateLayer, MatchReport } from './adapter/targets.js';
export { countParameters, formatTrainableParameters } from './adapter/params.js';
export { adapterConfigJson, readAdapterConfig, ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './adapter/io.js';
export type { Adapter, AdapterMethod, AdapterConfigBase, MergeOptions, MergeReport, MergedLayer, ParameterCount, InjectionReport } from './adapter/types.js';
export * from './formats/safetensors/index.js';
export * from '../adapters/index.js';
export * from './formats/gguf/index.js';
export { importHfBitnet, exportHfBitnet, HF_PROJECTION_NAMES } from './formats/hf-bitnet.js';
export type { HfLinearClass } from './formats/hf-bitnet.js';
export { writeBitnetGguf, bitnetGgufMetadata, byteVocabulary } from './formats/gguf/bitnet-write.js';
export type { GgufVocabulary, BitnetGgufOptions } from './formats/gguf/bitnet-write.js';
export { loadBitnetGguf } from './formats/gguf/bitnet-read.js';
export { hasLowRank, withLoraGguf, writeLoraGguf } from './formats/gguf/lora-gguf.js';
export { fromPretrained } from './formats/hf-pretrained.js';
export type { PretrainedModel } from './formats/hf-pretrained.js';
export { HfTokenizer } from './tokenizer/hf-tokenizer.js';
export type { ChatMessage } from './tokenizer/hf-tokenizer.js';
export { LlamaConfigSchema, llamaConfigFromHf, LLAMA_FAMILIES } from './models/llama/config.js';
export type { LlamaConfig, LlamaFamily } from './models/llama/config.js';
export { buildLlama } from './models/llama/tfjs.js';
export { LLAMA_ARCHITECTURE, LLAMA_PROJECTIONS, llamaProjectionPath } from './models/llama/spec.js';
export { exportGguf, GGUF_EXPORT_TYPES } from './formats/gguf/model-export.js';
export type { GgufExportType, GgufExportOptions, GgufExportReport } from './formats/gguf/model-export.js';

// the BitNet LM: its spec, the tfjs model, inference and generation
export { BitnetLmConfigSchema, checkBitnetConfig, projectionShape, headDim, PROJECTIONS } from './models/bitnet/config.js';
export type { BitnetLmConfig, Projection } from './models/bitnet/config.js';
export {
  BITNET_ARCHITECTURE,
  LAYER_TENSORS,
  GLOBAL_TENSORS,
  LAYER_NORMS,
  NORM_FEEDS,
  ROPE_STYLE,
  GGUF_CONFIG_KEYS,
  HF_CONFIG_KEYS,
  MODEL_METADATA_KEY,
  tensorName,
} from './models/bitnet/spec.js';
export type { TensorNaming, LayerTensor, LayerNorm, GlobalTensor, ModelMetadata } from './models/bitnet/spec.js';
export { randomBitnetWeights } from './models/bitnet/weights.js';
export type { BitnetLmWeights, BitnetLayerWeights } from './models/bitnet/weights.js';
export { buildBitnetLm, lmConfigOf, lmMetadataOf, lmModelFromWeights, lmWeightsOf } from './models/bitnet/tfjs.js';
export { mergeLowRank } from './models/bitnet/merge-low-rank.js';
export type { LowRankMergeReport } from './models/bitnet/merge-low-rank.js';
export type { LowRankDelta } from './nn/low-rank.js';
export type { BitnetLmOptions } from './models/bitnet/tfjs.js';
export { ropeAngles, ropeRow, ropeTensor, llama3FreqFactors } from './nn/rope.js';
export { TiedEmbedding } from './nn/tied-embedding.js';
export type { TiedEmbeddingArgs } from './nn/tied-embedding.js';
export { CausalAttention } from './nn/causal-attention.js';
export type { CausalAttentionArgs } from './nn/causal-attention.js';
export { ByteTokenizer } from './tokenizer/byte-tokenizer.js';
export { loadTextSplit, TextBatches, validationWindows } from './data/text.js';
export type { TextSplit } from './data/text.js';
export { BitnetRunner, rmsNormRow } from './inference/bitnet-forward.js';
export type { Numerics, ProjectionDevice, ProjectionRequest } from './inference/bitnet-forward.js';
export { GpuProjections } from './inference/gpu-projections.js';
export { generate, sampleToken } from './inference/generate.js';
export type { GenerateOptions, GenerateResult } from './inference/generate.js';
export { loadLmWeights } from './inference/load-lm.js';
export { quantizeQ8K } from './quant/q8k.js';
export { summarizeTernary } from './quant/summary.js';
export type { TernarySummary } from './quant/summary.js';

// kernels and settings
export { TernaryLinear } from './kernels/ternary-linear.js';
export type { TernaryLinearOptions } from './kernels/ternary-linear.js';
export { resolveKernels, loadTier, kernelReport } from './kernels/registry.js';
export type { KernelReportEntry } from './kernels/registry.js';
export { referenceTier } from './kernels/reference.js';
export { openWebGpuTier } from './kernels/webgpu/tier.js';
export type { WebGpuTier } from './kernels/webgpu/tier.js';
export { WebGpuTernary } from './kernels/webgpu/ternary-wgsl.js';
export type { GpuTernaryLinear } from './kernels/webgpu/ternary-wgsl.js';
export { KERNEL_CAPABILITIES } from './kernels/types.js';
export type { KernelTier, Kernels, KernelCapability, GemmShape, UploadedCodes, TernaryGemmKernel, GemvHalfKernel, AttentionKernel } from './kernels/types.js';
export { settings, configure, settingsFromEnv, defaultThreads, KERNEL_TIERS, NATIVE_ISAS, INFERENCE_ENGINES } from './settings.js';
export type { BitnetSettings, BitnetSettingsInput, KernelTierName, KernelPreference, NativeIsa, InferenceEngine } from './settings.js';

// recipes, experiments, reports, inspection
export { RecipeSchema, ModelSchema, DataSchema, TrainSchema, OptimizerSchema } from './recipe/schema.js';
export type { Recipe, RecipeInput, AdapterEntry, LrSchedule, QuantWarmup, OptimizerConfig, TrainConfig } from './recipe/schema.js';
export { loadRecipe, validateRecipe, applyOverrides, mergeDeep } from './recipe/load.js';
export type { LoadRecipeOptions } from './recipe/load.js';
export { runRecipe, readRunSummary } from './recipe/run.js';
export type { RunOptions, RunSummary, StopSignal } from './recipe/run.js';
export { buildRecipeModel, checkRecipeModel } from './recipe/build.js';
export type { BuiltModel } from './recipe/build.js';
export { runExperiment, loadExperiment, experimentRuns, ExperimentSchema } from './recipe/experiment.js';
export type { Experiment, ExperimentRun, ExperimentResult } from './recipe/experiment.js';
export { recipeJsonSchema, experimentJsonSchema } from './recipe/json-schema.js';
export { learningRate, quantLambda, weightDecayAt } from './recipe/schedules.js';
export { Optimizer, clipByGlobalNorm } from './train/optimizer.js';
export type { Param } from './train/optimizer.js';
export { silentReporter, lineReporter } from './report/reporter.js';
export type { Reporter, ProgressDisplay, ProgressFields } from './report/reporter.js';
export { formatTable, formatMarkdownTable } from './report/table.js';
export { inspectPath } from './inspect/inspect.js';
export type { Inspection } from './inspect/inspect.js';
export { writeFileAtomic } from './util/atomic-write.js';
