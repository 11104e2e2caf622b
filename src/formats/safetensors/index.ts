export { SAFETENSORS_DTYPES, isSafetensorsDtype } from './dtypes.js';
export type { SafetensorsDtype } from './dtypes.js';
export { readSafetensors, readSafetensorsHeader, parseSafetensors, parseSafetensorsHeader, SafetensorsFile, toFloat32, SAFETENSORS_LIMITS } from './reader.js';
export type { SafetensorsEntry, SafetensorsHeader, SafetensorsTensor } from './reader.js';
export { serializeSafetensors, writeSafetensors } from './writer.js';
export type { SafetensorsInput } from './writer.js';
