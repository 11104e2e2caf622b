import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import type { SafetensorsFile } from '../formats/safetensors/reader.js';
import type { SafetensorsInput } from '../formats/safetensors/writer.js';
import { torchTensor } from '../formats/torch-tensor.js';
import { torchToKernel } from '../nn/layout.js';
import type { LayerVariable } from '../nn/tfjs-types.js';
import { weightShortName } from '../nn/weights.js';

/** PyTorch's name for a tfjs weight: kernel → weight ([out, in]), gamma → weight, bias → bias. */
export function torchWeightName(w: LayerVariable): string {
  const short = weightShortName(w);
  if (short === 'kernel' || short === 'gamma') return 'weight';
  if (short === 'norm_gamma') return 'rms_norm.weight';
  return short;
}

export { torchTensor };

/** Every weight of a layer, keyed `<prefix><torch name>`. */
export function layerStateDict(layer: tf.layers.Layer, prefix: string): Record<string, SafetensorsInput> {
  const out: Record<string, SafetensorsInput> = {};
  for (const w of layer.weights) out[`${prefix}${torchWeightName(w)}`] = torchTensor(w);
  return out;
}

/** Reads a tensor for weight `w` from a file, checking its shape against the weight. */
export function readTorchTensor(file: SafetensorsFile, key: string, w: LayerVariable): tf.Tensor {
  if (!file.has(key)) {
    throw new BitNetError('CORRUPT_FILE', `adapter file has no tensor '${key}'`, { field: key, hint: 'was it saved from a model with the same layers?' });
  }
  const entry = file.tensor(key);
  const data = file.float32(key);
  const shape = w.shape as number[];
  const transposed = weightShortName(w) === 'kernel' && shape.length === 2;
  const expected = transposed ? [shape[1], shape[0]] : shape;
  if (JSON.stringify(entry.shape) !== JSON.stringify(expected)) {
    throw new BitNetError('CORRUPT_FILE', `tensor '${key}' has shape ${JSON.stringify(entry.shape)}, the model needs ${JSON.stringify(expected)}`, {
      field: key,
    });
  }
  return transposed ? tf.tensor2d(torchToKernel(data, shape[1] as number, shape[0] as number), shape as [number, number]) : tf.tensor(data, shape);
}

/** Sets every weight of a layer from `<prefix><torch name>` tensors. */
export function loadLayerStateDict(layer: tf.layers.Layer, file: SafetensorsFile, prefix: string): void {
  const tensors: tf.Tensor[] = [];
  try {
    for (const w of layer.weights) tensors.push(readTorchTensor(file, `${prefix}${torchWeightName(w)}`, w));
    layer.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
