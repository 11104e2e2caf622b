import type * as tf from '@tensorflow/tfjs';
import { zodToBitNetError } from '../config.js';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../formats/safetensors/reader.js';
import { ADAPTER_WEIGHTS, readAdapterConfig } from './io.js';
import { PeftModel, type PeftModelOptions } from './peft-model.js';
import { getAdapterMethod } from './registry.js';
import type { AdapterConfigBase } from './types.js';

/** A config for any registered method: `{ peftType: 'LORA' | 'BITNET', targetModules, ...method fields }`. */
export type PeftConfigInput = { peftType: string } & Record<string, unknown>;

function parseConfig(input: PeftConfigInput): { method: ReturnType<typeof getAdapterMethod>; config: AdapterConfigBase } {
  const method = getAdapterMethod(input.peftType);
  const result = method.schema.safeParse(input);
  if (!result.success) throw zodToBitNetError(result.error, `${input.peftType} adapter config`);
  return { method, config: result.data };
}

/** Injects the adapter `config` describes into a copy of `model` (HF peft's get_peft_model). */
export function getPeftModel(model: tf.LayersModel, config: PeftConfigInput, options: PeftModelOptions = {}): PeftModel {
  const { method, config: parsed } = parseConfig(config);
  const peft = new PeftModel(method, parsed, options);
  peft.inject(model);
  return peft;
}

/**
 * Loads an adapter folder (adapter_config.json + adapter_model.safetensors) onto a base model, as
 * peft's PeftModel.from_pretrained (the folder's root adapter; `options.adapterName` names it).
 * Others of a multi-adapter save live in subfolders: `peft.loadAdapter(join(dir, name), name)`.
 */
export async function loadPeftModel(baseModel: tf.LayersModel, dir: string, options: PeftModelOptions = {}): Promise<PeftModel> {
  const json = await readAdapterConfig(dir);
  const { method, config } = parseConfig(getAdapterMethod(json.peft_type as string).fromPeftJson(json) as PeftConfigInput);
  method.checkSaved?.((await readSafetensorsHeader(join(dir, ADAPTER_WEIGHTS))).tensors, config);
  const peft = new PeftModel(method, config, options);
  peft.inject(baseModel);
  try {
    await peft.load(dir);
  } catch (error) {
    peft.dispose();
    throw error;
  }
  return peft;
}
