import { PeftModel, type PeftModelOptions } from '../../src/adapter/peft-model.js';
import { zodToBitNetError } from '../../src/config.js';
import { LoraConfigSchema, type LoraConfig } from './config.js';
import { loraMethod } from './method.js';

export type LoraAdapterInput = Omit<Partial<LoraConfig>, 'peftType'> & Pick<LoraConfig, 'targetModules'>;

/** LoRA on Dense or BitLinear layers. */
export class LoraAdapter extends PeftModel<LoraConfig> {
  constructor(config: LoraAdapterInput, options: PeftModelOptions = {}) {
    const parsed = LoraConfigSchema.safeParse({ ...config, peftType: 'LORA' });
    if (!parsed.success) throw zodToBitNetError(parsed.error, 'LORA adapter config');
    super(loraMethod, parsed.data, options);
  }
}
