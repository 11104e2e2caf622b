import type * as tf from '@tensorflow/tfjs';
import { PeftModel, type PeftModelOptions } from '../../src/adapter/peft-model.js';
import { zodToBitNetError } from '../../src/config.js';
import { BitNetAdapterConfigSchema, type BitNetAdapterConfig } from './config.js';
import { bitnetMethod } from './method.js';
import { toDenseModel } from './to-dense.js';

export type BitNetAdapterInput = Omit<Partial<BitNetAdapterConfig>, 'peftType'> & Pick<BitNetAdapterConfig, 'targetModules'>;

/** Turns a model's Dense layers into BitLinear for quantization-aware fine-tuning. */
export class BitNetAdapter extends PeftModel<BitNetAdapterConfig> {
  constructor(config: BitNetAdapterInput, options: PeftModelOptions = {}) {
    const parsed = BitNetAdapterConfigSchema.safeParse({ ...config, peftType: 'BITNET' });
    if (!parsed.success) throw zodToBitNetError(parsed.error, 'BITNET adapter config');
    super(bitnetMethod, parsed.data, options);
  }

  /** A plain tfjs model with dequantized ternary weights in Dense layers (see toDenseModel). */
  toDense(): tf.LayersModel {
    return toDenseModel(this.model);
  }
}
