export { GGML_TYPES, ggmlTypeById, ggmlTensorBytes, encodeGgml, encodeTernaryBlocks, decodeGgml } from './ggml-types.js';
export type { GgmlTypeName } from './ggml-types.js';
export { gguf, GGUF_VALUE_TYPES } from './values.js';
export type { GgufValue, GgufScalarType } from './values.js';
export { writeGguf } from './writer.js';
export type { GgufTensorSpec, GgufWriteOptions } from './writer.js';
export { readGgufHeader, readGgufTensor, readGgufTensorBytes, GGUF_LIMITS } from './reader.js';
export type { GgufHeader, GgufTensorInfo } from './reader.js';
export { floatToHalf, halfToFloat, floatToBf16, bf16ToFloat } from '../../util/half.js';
