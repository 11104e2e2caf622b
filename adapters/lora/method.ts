import * as tf from '@tensorflow/tfjs';
import type { AdapterMethod } from '../../src/adapter/types.js';
import { BitNetError } from '../../src/errors.js';
import type { SafetensorsInput } from '../../src/formats/safetensors/writer.js';
import { transpose2d } from '../../src/nn/layout.js';
import { setWeightsByName, weightsByName } from '../../src/nn/weights.js';
import { LORA_PEFT_TYPE, LoraConfigSchema, loraFromPeftJson, loraToPeftJson, type LoraConfig } from './config.js';
import { type LoraLinear } from './layer.js';
import { combineLora } from './weighted.js';

function torchLayout(t: tf.Tensor): SafetensorsInput {
  const [rows, cols] = t.shape as [number, number];
  return { dtype: 'F32', shape: [cols, rows], data: transpose2d(t.dataSync() as Float32Array, rows, cols) };
}

/** A stable per-layer offset of the seed, so each layer's lora_A differs and reruns agree. */
function pathSeed(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193) >>> 0;
  return h % 1_000_000;
}

/** LoRA on Dense and BitLinear layers; only lora_A and lora_B train. */
export const loraMethod: AdapterMethod<LoraConfig> = {
  peftType: LORA_PEFT_TYPE,
  schema: LoraConfigSchema,

  supports: (className) => className === 'Dense' || className === 'BitLinear',

  adaptedEntry(layer, config) {
    const baseConfig = { ...layer.getConfig() };
    delete baseConfig.name;
    return {
      className: 'LoraLinear',
      config: {
        baseLayer: { className: layer.getClassName(), config: baseConfig },
        r: config.r,
        loraAlpha: config.loraAlpha,
        loraDropout: config.loraDropout,
        useRslora: config.useRslora,
        seed: config.seed + pathSeed(layer.name),
        useDora: config.useDora,
      },
    };
  },

  initialize(adapted, original) {
    setWeightsByName((adapted as LoraLinear).base, weightsByName(original));
    (adapted as LoraLinear).initializeMagnitude();
  },

  isAdapterWeight: (_layer, w) => /(^|\/)lora_([AB]|magnitude_vector)(_\d+)?$/.test(w.originalName),

  setEnabled(layer, enabled) {
    (layer as LoraLinear).loraEnabled = enabled;
  },

  merge(layer, _config, options) {
    const lora = layer as LoraLinear;
    if (lora.baseClassName === 'BitLinear' && options.ternaryBase === 'keep') return null;
    const values = weightsByName(lora);
    const kernel = values.kernel;
    if (kernel === undefined)
      throw new BitNetError('UNSUPPORTED', `${lora.name}: a merged ternary base cannot take a LoRA merge`, { hint: 'merge before merging the BitNet layers' });
    const weights: Record<string, tf.Tensor> = {};
    for (const [name, value] of Object.entries(values)) if (!name.startsWith('lora_')) weights[name] = tf.clone(value);
    weights.kernel?.dispose();
    weights.kernel = tf.tidy(() => {
      const delta = tf.mul(tf.matMul(values.lora_A as tf.Tensor2D, values.lora_B as tf.Tensor2D), lora.scaling);
      if (!lora.useDora) return tf.add(kernel, delta);
      // DoRA: the magnitude times the direction of W + delta (W as the base computes with it)
      const direction = tf.add(lora.baseKernel(), delta);
      return tf.mul(direction, tf.div(values.lora_magnitude_vector as tf.Tensor, lora.weightNorm()));
    });
    const config = { ...lora.base.getConfig(), activation: lora.activation };
    return { entry: { className: lora.baseClassName, config }, weights, requantized: lora.baseClassName === 'BitLinear' };
  },

  combine(inputs, combination, paths) {
    if (combination !== 'linear' && combination !== 'cat') {
      throw new BitNetError('UNSUPPORTED', `combination '${combination}': this toolkit combines LoRA adapters 'linear' or 'cat'`, { field: 'combinationType' });
    }
    return combineLora(inputs, combination, paths);
  },

  unwrap(layer) {
    const lora = layer as LoraLinear;
    const weights = Object.fromEntries(Object.entries(weightsByName(lora.base)).map(([name, value]) => [name, tf.clone(value)]));
    return { entry: { className: lora.baseClassName, config: { ...lora.base.getConfig(), activation: lora.activation } }, weights };
  },

  stateDict(layer) {
    const values = weightsByName(layer);
    const magnitude = values.lora_magnitude_vector;
    return {
      'lora_A.weight': torchLayout(values.lora_A as tf.Tensor),
      'lora_B.weight': torchLayout(values.lora_B as tf.Tensor),
      // peft's key (it drops the DoRA layer's '.weight' to keep its older file format)
      ...(magnitude === undefined ? {} : { lora_magnitude_vector: { dtype: 'F32', shape: [magnitude.size], data: magnitude.dataSync() } }),
    };
  },

  loadStateDict(layer, file, prefix) {
    const lora = layer as LoraLinear;
    const current = weightsByName(lora);
    const read = (key: string, like: tf.Tensor): tf.Tensor => {
      const full = `${prefix}${key}`;
      if (!file.has(full)) throw new BitNetError('CORRUPT_FILE', `adapter file has no tensor '${full}'`, { field: full });
      const [rows, cols] = like.shape as [number, number];
      const entry = file.tensor(full);
      if (JSON.stringify(entry.shape) !== JSON.stringify([cols, rows])) {
        throw new BitNetError('CORRUPT_FILE', `tensor '${full}' has shape ${JSON.stringify(entry.shape)}, expected ${JSON.stringify([cols, rows])}`, {
          field: full,
        });
      }
      return tf.tensor2d(transpose2d(file.float32(full), cols, rows), [rows, cols]);
    };
    const loraA = read('lora_A.weight', current.lora_A as tf.Tensor);
    let loraB: tf.Tensor;
    try {
      loraB = read('lora_B.weight', current.lora_B as tf.Tensor);
    } catch (error) {
      loraA.dispose();
      throw error;
    }
    const magnitudeKey = `${prefix}lora_magnitude_vector`;
    const magnitude = lora.useDora ? (file.has(magnitudeKey) ? tf.tensor1d(file.float32(magnitudeKey)) : undefined) : undefined;
    if (lora.useDora && (magnitude === undefined || magnitude.size !== lora.units)) {
      tf.dispose([loraA, loraB, ...(magnitude === undefined ? [] : [magnitude])]);
      throw new BitNetError('CORRUPT_FILE', `adapter file has no DoRA magnitude '${magnitudeKey}' of ${lora.units} values`, { field: magnitudeKey });
    }
    setWeightsByName(lora, { ...current, lora_A: loraA, lora_B: loraB, ...(magnitude === undefined ? {} : { lora_magnitude_vector: magnitude }) });
    tf.dispose([loraA, loraB, ...(magnitude === undefined ? [] : [magnitude])]);
  },

  checkSaved(tensors, config) {
    for (const t of tensors) {
      const rankAxis = t.name.endsWith('.lora_A.weight') ? 0 : t.name.endsWith('.lora_B.weight') ? 1 : undefined;
      if (rankAxis === undefined || (t.shape.length === 2 && t.shape[rankAxis] === config.r)) continue;
      throw new BitNetError('INVALID_CONFIG', `the adapter's r is ${config.r}, but its tensor '${t.name}' has shape ${JSON.stringify(t.shape)}`, {
        field: 'r',
        hint: 'adapter_config.json and adapter_model.safetensors come from different adapters, or one was edited',
      });
    }
  },

  toPeftJson: loraToPeftJson,
  fromPeftJson: loraFromPeftJson,
};
