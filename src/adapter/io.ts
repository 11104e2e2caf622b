import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { parseSafetensors, toFloat32, type SafetensorsFile } from '../formats/safetensors/reader.js';
import { serializeSafetensors, type SafetensorsInput } from '../formats/safetensors/writer.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { findLayer } from './topology.js';
import { layerStateDict, loadLayerStateDict } from './torch-names.js';
import type { AdapterConfigBase, AdapterMethod, InjectionReport } from './types.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const KEY_PREFIX = 'base_model.model.';

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

function targetsJson(spec: AdapterConfigBase['targetModules'] | undefined): unknown {
  if (spec === undefined) return null;
  return typeof spec === 'string' ? spec : [...spec].sort();
}

/** adapter_config.json as PEFT writes it: common fields + the method's, sorted keys, indent 2. */
export function adapterConfigJson<C extends AdapterConfigBase>(method: AdapterMethod<C>, config: C): string {
  const json = {
    base_model_name_or_path: config.baseModelNameOrPath ?? null,
    exclude_modules: targetsJson(config.excludeModules),
    inference_mode: true,
    modules_to_save: config.modulesToSave === undefined || config.modulesToSave.length === 0 ? null : [...config.modulesToSave],
    peft_type: method.peftType,
    revision: null,
    target_modules: targetsJson(config.targetModules),
    task_type: null,
    ...method.toPeftJson(config),
  };
  return `${JSON.stringify(sortKeys(json), null, 2)}\n`;
}

export function adapterTensors<C extends AdapterConfigBase>(
  method: AdapterMethod<C>,
  config: C,
  report: InjectionReport,
  model: tf.LayersModel,
): Record<string, SafetensorsInput> {
  const tensors: Record<string, SafetensorsInput> = {};
  for (const path of report.matched) {
    for (const [key, value] of Object.entries(method.stateDict(findLayer(model, path), config))) {
      tensors[`${KEY_PREFIX}${path}.${key}`] = value;
    }
  }
  for (const path of report.modulesToSave) Object.assign(tensors, layerStateDict(findLayer(model, path), `${KEY_PREFIX}${path}.`));
  return tensors;
}

/** adapter_model.safetensors of an injected adapter, in memory (what save writes; what a PeftModel keeps of an inactive named adapter). */
export function adapterBytes<C extends AdapterConfigBase>(method: AdapterMethod<C>, config: C, report: InjectionReport, model: tf.LayersModel): Uint8Array {
  return serializeSafetensors(adapterTensors(method, config, report, model), { format: 'pt' });
}

/** Writes adapter_config.json and adapter_model.safetensors (the bytes adapterBytes made) to `dir`. */
export async function writeAdapterFolder<C extends AdapterConfigBase>(dir: string, method: AdapterMethod<C>, config: C, bytes: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, ADAPTER_WEIGHTS), bytes);
  await writeFileAtomic(join(dir, ADAPTER_CONFIG), adapterConfigJson(method, config));
}

/** Reads adapter_config.json from a folder. */
export async function readAdapterConfig(dir: string): Promise<Record<string, unknown>> {
  const path = join(dir, ADAPTER_CONFIG);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `no ${ADAPTER_CONFIG} in ${dir}`, { field: 'path', cause, hint: 'point at a folder written by PeftModel.save()' });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BitNetError('CORRUPT_FILE', `${path} is not valid JSON: ${(cause as Error).message}`, { field: 'path', cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof (json as { peft_type?: unknown }).peft_type !== 'string') {
    throw new BitNetError('CORRUPT_FILE', `${path} has no peft_type`, { field: 'peft_type' });
  }
  return json as Record<string, unknown>;
}

/** Refuses an adapter file with a tensor that is not a finite number (a diverged run, a damaged file). */
export function checkFinite(file: SafetensorsFile, label: string): void {
  for (const name of file.names) {
    const t = file.tensor(name);
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') continue;
    const bad = toFloat32(t).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new BitNetError('CORRUPT_FILE', `${label}: ${name}[${bad}] is not a finite number`, {
        field: name,
        hint: 'the adapter was saved from a run that diverged, or the file is damaged',
      });
    }
  }
}

/** Loads an adapter's tensors (peft layout) into the injected model. */
export function loadAdapterFile<C extends AdapterConfigBase>(
  file: SafetensorsFile,
  method: AdapterMethod<C>,
  config: C,
  report: InjectionReport,
  model: tf.LayersModel,
): void {
  for (const path of report.matched) method.loadStateDict(findLayer(model, path), file, `${KEY_PREFIX}${path}.`, config);
  for (const path of report.modulesToSave) loadLayerStateDict(findLayer(model, path), file, `${KEY_PREFIX}${path}.`);
}

/** The bytes of a folder's adapter_model.safetensors, checked to parse and to hold finite numbers. */
export async function readAdapterBytes(dir: string): Promise<Uint8Array> {
  const path = join(dir, ADAPTER_WEIGHTS);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `no ${ADAPTER_WEIGHTS} in ${dir}`, { field: 'path', cause, hint: 'point at a folder written by PeftModel.save()' });
  }
  checkFinite(parseSafetensors(bytes), path);
  return bytes;
}
