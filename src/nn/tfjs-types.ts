/**
 * Types tfjs-layers uses in its Layer API but does not re-export from the package root.
 * Type-only imports: nothing from these paths is loaded at run time.
 */
export type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
export type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
export type { Shape } from '@tensorflow/tfjs-layers/dist/keras_format/common.js';
export type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables.js';

import type * as tf from '@tensorflow/tfjs';

/** The one tensor of a single-input layer call. */
export function singleInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x === undefined) throw new Error('layer called with no input');
  return x;
}

/** The one shape of a single-input layer. */
export function singleShape(shape: (number | null)[] | (number | null)[][]): (number | null)[] {
  const first = shape[0];
  return Array.isArray(first) ? first : (shape as (number | null)[]);
}
