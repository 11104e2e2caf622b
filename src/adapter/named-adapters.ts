import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { parseSafetensors } from '../formats/safetensors/reader.js';
import { serializeSafetensors } from '../formats/safetensors/writer.js';
import { setWeightsByName, weightsByName } from '../nn/weights.js';
import { findLayer, rebuildModel } from './topology.js';
import type { AdapterConfigBase, AdapterMethod, InjectionReport } from './types.js';

/** A named adapter of a PeftModel: its config, and its peft-layout safetensors while another adapter is active. */
export interface NamedAdapter<C> {
  config: C;
  bytes?: Uint8Array;
}

/** Whether two adapters build the same layers (everything but the initialization seed and the base's name agrees). */
export function sameAdapterLayout<C extends AdapterConfigBase>(a: C, b: C): boolean {
  const layout = (c: C): string => {
    const { seed: _seed, baseModelNameOrPath: _base, ...rest } = c as C & { seed?: number };
    return JSON.stringify(rest, (_key, value: unknown) => (value instanceof RegExp ? value.source : value));
  };
  return layout(a) === layout(b);
}

/** A layer's weights as kept tensors (the caller disposes them). */
export function cloneWeights(layer: tf.layers.Layer): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(weightsByName(layer)).map(([name, value]) => [name, tf.keep(tf.clone(value))]));
}

/**
 * The base model under an adapted one: each adapted layer unwrapped by its method, the layers
 * the adapter saves (modulesToSave) back to their original values. A new model; `adapted` stays.
 */
export function unwrapAdapted<C extends AdapterConfigBase>(
  method: AdapterMethod<C>,
  adapted: tf.LayersModel,
  report: InjectionReport,
  originals: ReadonlyMap<string, Record<string, tf.Tensor>>,
): tf.LayersModel {
  const unwrap = method.unwrap?.bind(method);
  if (unwrap === undefined) throw new BitNetError('INTERNAL', `${method.peftType} does not unwrap its layers`);
  const results = new Map(report.matched.map((path) => [path, unwrap(findLayer(adapted, path))]));
  const entries = new Map([...results].map(([path, r]) => [path, r.entry]));
  const base = rebuildModel(adapted, entries, (path, layer) => setWeightsByName(layer, (results.get(path) as { weights: Record<string, tf.Tensor> }).weights));
  for (const r of results.values()) tf.dispose(Object.values(r.weights));
  for (const path of report.modulesToSave) setWeightsByName(findLayer(base, path), originals.get(path) as Record<string, tf.Tensor>);
  return base;
}

/**
 * A new adapter combining saved ones (peft's add_weighted_adapter), as its config and the bytes of
 * its adapter_model.safetensors. The adapters must target the same layers and save no modules.
 */
export function weightedAdapter<C extends AdapterConfigBase>(
  method: AdapterMethod<C>,
  files: ReadonlyMap<string, { config: C; bytes: Uint8Array }>,
  adapters: readonly string[],
  weights: readonly number[],
  combinationType: string,
): NamedAdapter<C> & { bytes: Uint8Array } {
  if (method.combine === undefined) throw new BitNetError('UNSUPPORTED', `${method.peftType} adapters cannot be combined`, { field: 'peftType' });
  if (adapters.length === 0 || adapters.length !== weights.length) {
    throw new BitNetError('INVALID_ARGUMENT', 'give one weight per adapter, and at least one adapter', { field: 'weights' });
  }
  const inputs = adapters.map((a, i) => {
    const found = files.get(a);
    if (found === undefined)
      throw new BitNetError('INVALID_ARGUMENT', `no adapter named '${a}'`, { field: 'adapters', hint: `adapters: ${[...files.keys()].join(', ')}` });
    if ((found.config.modulesToSave?.length ?? 0) > 0) {
      throw new BitNetError('UNSUPPORTED', `adapter '${a}' saves modules (${(found.config.modulesToSave ?? []).join(', ')}); they cannot be combined`, {
        field: 'modulesToSave',
      });
    }
    return { config: found.config, file: parseSafetensors(found.bytes), weight: weights[i] as number };
  });
  if (new Set(inputs.map((i) => JSON.stringify(i.config.targetModules))).size > 1) {
    throw new BitNetError('UNSUPPORTED', 'the adapters target different layers; combine adapters of one targetModules', { field: 'adapters' });
  }
  // the layers the adapters adapt: the paths of the first one's tensors
  const first = (inputs[0] as (typeof inputs)[number]).file;
  const paths = [...new Set(first.names.map((n) => /^base_model\.model\.(.+)\.lora_[AB]\.weight$/.exec(n)?.[1]))].filter((p): p is string => p !== undefined);
  const { config, tensors } = method.combine(inputs, combinationType, paths);
  return { config, bytes: serializeSafetensors(tensors, { format: 'pt' }) };
}
