export { BitNetError, isBitNetError, USER_ERROR_CODES, INTERNAL_ERROR_CODES } from './errors.js';
export type { BitNetErrorCode, BitNetErrorOptions, UserErrorCode, InternalErrorCode } from './errors.js';
export {
  BitNetConfigSchema,
  GroupSizeSchema,
  BITNET_PRESETS,
  parseBitNetConfig,
  zodToBitNetError,
  formatIssuePath,
} from './config.js';
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
export {
  straightThrough,
  fakeQuantActivations,
  fakeQuantKernel,
  quantizeActivationsTensor,
  quantizeKernelTensor,
} from './quant/ste.js';
export { fileSystem, saveModel, loadModel, registerFileRouters } from './formats/tfjs-fs.js';
export { buildMlp } from './models/mlp.js';
export type { MlpOptions } from './models/mlp.js';
export { loadMnistDigits, mnistSplit, MNIST_PIXELS } from './data/mnist.js';
export type { LabeledImages, MnistSplit } from './data/mnist.js';
export { seededPermutation } from './data/shuffle.js';
export { PeftModel } from './adapter/peft-model.js';
export type { PeftModelOptions } from './adapter/peft-model.js';
export { getPeftModel, loadPeftModel } from './adapter/peft.js';
export type { PeftConfigInput } from './adapter/peft.js';
export { registerAdapter, getAdapterMethod, registeredAdapters } from './adapter/registry.js';
export { matchTargets, pathMatches } from './adapter/targets.js';
export type { TargetModules, TargetRules, CandidateLayer, MatchReport } from './adapter/targets.js';
export { countParameters, formatTrainableParameters } from './adapter/params.js';
export { adapterConfigJson, readAdapterConfig, ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './adapter/io.js';
export type {
  Adapter,
  AdapterMethod,
  AdapterConfigBase,
  MergeOptions,
  MergeReport,
  MergedLayer,
  ParameterCount,
  InjectionReport,
} from './adapter/types.js';
export * from './formats/safetensors/index.js';
export * from '../adapters/index.js';
export * from './formats/gguf/index.js';
export { importHfBitnet, exportHfBitnet, HF_PROJECTION_NAMES } from './formats/hf-bitnet.js';
export type { HfLinearClass } from './formats/hf-bitnet.js';
export { writeBitnetGguf, byteVocabulary, GGUF_PROJECTION_NAMES } from './export/gguf-bitnet.js';
export type { GgufVocabulary, BitnetGgufOptions } from './export/gguf-bitnet.js';
export { exportGguf, GGUF_EXPORT_TYPES } from './export/gguf-mlp.js';
export type { GgufExportType, GgufExportOptions, GgufExportReport } from './export/gguf-mlp.js';
export { BitnetRunner, rmsNormRow } from './inference/bitnet-forward.js';
export type { Numerics } from './inference/bitnet-forward.js';
export { quantizeQ8K } from './inference/q8k.js';
export { randomBitnetWeights, checkBitnetConfig, projectionShape, headDim, PROJECTIONS } from './models/bitnet-weights.js';
export type { BitnetLmConfig, BitnetLmWeights, BitnetLayerWeights, Projection } from './models/bitnet-weights.js';
export { TernaryLinear } from './kernels/ternary-linear.js';
export type { TernaryLinearOptions } from './kernels/ternary-linear.js';
export { selectKernelTier, kernelReport, KERNEL_TIERS } from './kernels/select.js';
export type { KernelTier, GemmShape } from './kernels/types.js';
export { setInferenceEngine, inferenceEngine } from './kernels/engine.js';
