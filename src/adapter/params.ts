import type * as tf from '@tensorflow/tfjs';
import type { ParameterCount } from './types.js';
import { modelLayers } from '../nn/model-layers.js';

/** Counts parameters: a weight is trainable when both it and its layer are. */
export function countParameters(model: tf.LayersModel): ParameterCount {
  const result: ParameterCount = { trainable: 0, frozen: 0, total: 0, byLayer: {} };
  for (const { path, layer } of modelLayers(model)) {
    const entry = { trainable: 0, frozen: 0 };
    for (const w of layer.weights) {
      const size = w.shape.reduce((a: number, d) => a * (d ?? 1), 1);
      if (layer.trainable && w.trainable) entry.trainable += size;
      else entry.frozen += size;
    }
    result.byLayer[path] = entry;
    result.trainable += entry.trainable;
    result.frozen += entry.frozen;
  }
  result.total = result.trainable + result.frozen;
  return result;
}

/** HuggingFace peft's line: `trainable params: 1,234 || all params: 5,678 || trainable%: 21.7323`. */
export function formatTrainableParameters(count: Pick<ParameterCount, 'trainable' | 'total'>): string {
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const pct = count.total === 0 ? 0 : (100 * count.trainable) / count.total;
  return `trainable params: ${fmt(count.trainable)} || all params: ${fmt(count.total)} || trainable%: ${pct.toFixed(4)}`;
}
