import type * as tf from '@tensorflow/tfjs';
import { zodToBitNetError } from '../config.js';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../formats/safetensors/reader.js';
import { ADAPTER_WEIGHTS, readAdapterConfig } from './io.js';
import { PeftModel, type PeftModelOptions } from './peft-model.js';
import { getAdapterMethod } from './registry.js';
import type { AdapterConfigBase, PeftConfigInput, PeftConfigOf } from './types.js';

export type { PeftConfigInput } from './types.js';

/** A config checked only when it runs (recipes, JSON): `{ peftType, ...fields }`; unknown fields are errors then. */
export type DynamicPeftConfig = { peftType: string } & Record<string, unknown>;

/** Keys of T that the method's input does not have become `never`: `{ peftType: 'LORA', rr: 8 }` does not compile. */
type Exactly<T, Allowed> = T & { [K in Exclude<keyof T, keyof Allowed | 'peftType'>]: never };

function parseConfig(input: DynamicPeftConfig): { method: ReturnType<typeof getAdapterMethod>; config: AdapterConfigBase } {
  const method = getAdapterMethod(input.peftType);
  const result = method.schema.safeParse(input);
  if (!result.success) throw zodToBitNetError(result.error, `${input.peftType} adapter config`);
  return { method, config: result.data };
}

/**
 * Injects the adapter `config` describes into a copy of `model` (HF peft's get_peft_model). The
 * config is typed by its peftType (each method's fields; unknown keys do not compile), and so is
 * the PeftModel's `config`.
 */
export function getPeftModel<const T extends PeftConfigInput>(
  model: tf.LayersModel,
  config: Exactly<T, Extract<PeftConfigInput, { peftType: T['peftType'] }>>,
  options: PeftModelOptions = {},
): PeftModel<PeftConfigOf<T['peftType']>> {
  return injectAdapter(model, config, options);
}

/** getPeftModel for a config known only at run time (a recipe's JSON): checked by the method's schema then. */
export function injectAdapter(model: tf.LayersModel, config: DynamicPeftConfig, options: PeftModelOptions = {}): PeftModel {
  const { method, config: parsed } = parseConfig(config);
  const peft = new PeftModel(method, parsed, options);
  peft.inject(model);
  return peft;
}

/** A parsed config for PeftModel.addAdapter, from a typed input (defaults filled). */
export function peftConfig<const T extends PeftConfigInput>(
  config: Exactly<T, Extract<PeftConfigInput, { peftType: T['peftType'] }>>,
): PeftConfigOf<T['peftType']> {
  return parseConfig(config).config;
}

/**
 * Loads an adapter folder (adapter_config.json + adapter_model.safetensors) onto a base model, as
 * peft's PeftModel.from_pretrained (the folder's root adapter; `options.adapterName` names it).
 * Others of a multi-adapter save live in subfolders: `peft.loadAdapter(join(dir, name), name)`.
 */
export async function loadPeftModel(baseModel: tf.LayersModel, dir: string, options: PeftModelOptions = {}): Promise<PeftModel> {
  const json = await readAdapterConfig(dir);
  const { method, config } = parseConfig(getAdapterMethod(json.peft_type as string).fromPeftJson(json) as DynamicPeftConfig);
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
