import type * as tf from '@tensorflow/tfjs';
import { modelLayers } from '../nn/model-layers.js';
import { BitLinear } from '../nn/bit-linear.js';
import { weightShortName } from '../nn/weights.js';
import { storageByteSize } from '../quant/storage.js';

function floatBytes(layer: tf.layers.Layer, skip: (name: string) => boolean): number {
  return layer.weights.filter((w) => !skip(weightShortName(w))).reduce((n, w) => n + 4 * w.shape.reduce((a: number, d) => a * (d ?? 1), 1), 0);
}

/**
 * Bytes to deploy a model: BitLinear weights as packed 2-bit codes (TQ2_0 order) plus f32 scales,
 * everything else (biases, norms, Dense layers, LoRA matrices) as f32.
 */
export function deployedModelBytes(model: tf.LayersModel): number {
  let total = 0;
  for (const { layer } of modelLayers(model)) {
    const wrapped = (layer as unknown as { base?: unknown }).base;
    const found = layer instanceof BitLinear ? layer : wrapped instanceof BitLinear ? wrapped : undefined;
    const ternary = found?.fullPrecision === true ? undefined : found;
    if (ternary === undefined) {
      total += floatBytes(layer, () => false);
      continue;
    }
    // from shapes alone (no weight read-back): packed 2-bit rows padded to 256, plus f32 scales
    const kernelShape = (ternary.weights.find((w) => ['kernel', 'qkernel'].includes(weightShortName(w)))?.shape ?? [0, 0]) as number[];
    const [inF, out] = kernelShape as [number, number];
    const g = ternary.quant.groupSize;
    total += storageByteSize('packed2', [out, inF], g === 'tensor' ? 1 : (inF / g) * out);
    total += floatBytes(layer, (name) => name === 'kernel' || name === 'qkernel' || name === 'scales');
  }
  return total;
}
