import * as tf from '@tensorflow/tfjs';
import { registerAdapter } from '../src/adapter/registry.js';
import { LAYER_PACKAGE } from '../src/nn/register.js';
import { bitnetMethod } from './bitnet/method.js';
import { LoraLinear } from './lora/layer.js';
import { loraMethod } from './lora/method.js';

registerAdapter(bitnetMethod);
registerAdapter(loraMethod);
tf.serialization.registerClass(LoraLinear, LAYER_PACKAGE);

export { bitnetMethod } from './bitnet/method.js';
export { BitNetAdapterConfigSchema, BITNET_PEFT_TYPE } from './bitnet/config.js';
export type { BitNetAdapterConfig } from './bitnet/config.js';
export { toDenseModel } from './bitnet/to-dense.js';
export { loraMethod } from './lora/method.js';
export { LoraLinear } from './lora/layer.js';
export type { LoraLinearArgs } from './lora/layer.js';
export { LoraConfigSchema, LORA_PEFT_TYPE } from './lora/config.js';
export type { LoraConfig } from './lora/config.js';
export { BitNetAdapter } from './bitnet/index.js';
export type { BitNetAdapterInput } from './bitnet/index.js';
export { LoraAdapter } from './lora/index.js';
export type { LoraAdapterInput } from './lora/index.js';
