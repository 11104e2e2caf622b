import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';

const ACTIVATIONS = {
  linear: (x: tf.Tensor) => x,
  relu: (x: tf.Tensor) => tf.relu(x),
  relu6: (x: tf.Tensor) => tf.relu6(x),
  elu: (x: tf.Tensor) => tf.elu(x),
  selu: (x: tf.Tensor) => tf.selu(x),
  sigmoid: (x: tf.Tensor) => tf.sigmoid(x),
  tanh: (x: tf.Tensor) => tf.tanh(x),
  softmax: (x: tf.Tensor) => tf.softmax(x),
  softplus: (x: tf.Tensor) => tf.softplus(x),
  swish: (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x)),
  silu: (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
} as const;

export type ActivationName = keyof typeof ACTIVATIONS;

/** The activations a linear layer can apply after its bias (tfjs Dense's names). */
export function resolveActivation(name: string | undefined): ActivationName {
  const resolved = name ?? 'linear';
  if (!Object.hasOwn(ACTIVATIONS, resolved)) {
    throw new BitNetError('INVALID_CONFIG', `unsupported activation '${resolved}'`, {
      field: 'activation',
      hint: `one of ${Object.keys(ACTIVATIONS).join(', ')}`,
    });
  }
  return resolved as ActivationName;
}

export function applyActivation(name: ActivationName, x: tf.Tensor): tf.Tensor {
  return ACTIVATIONS[name](x);
}
