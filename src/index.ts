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
