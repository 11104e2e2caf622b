import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import type { LayerVariable } from './tfjs-types.js';

/** The short name of a weight (`kernel` for `fc1/kernel_3`). */
export function weightShortName(w: LayerVariable): string {
  const last = w.originalName.split('/').pop() ?? w.originalName;
  return last.replace(/_\d+$/, '');
}

/** A layer's weight values keyed by short name. */
export function weightsByName(layer: tf.layers.Layer): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const w of layer.weights) out[weightShortName(w)] = w.read();
  return out;
}

/** Sets a layer's weights by short name (independent of the trainable/frozen order of `layer.weights`). */
export function setWeightsByName(layer: tf.layers.Layer, values: Readonly<Record<string, tf.Tensor>>): void {
  const ordered = layer.weights.map((w) => {
    const value = values[weightShortName(w)];
    if (value === undefined) {
      throw new BitNetError('INVALID_ARGUMENT', `${layer.name}: no value given for weight '${weightShortName(w)}'`, { field: weightShortName(w) });
    }
    return value;
  });
  layer.setWeights(ordered);
}
