import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { bitLinear, type BitLinearArgs } from '../nn/bit-linear.js';

export interface MlpOptions {
  inputSize: number;
  /** Hidden layer widths, e.g. [256, 256]. */
  hidden: readonly number[];
  outputs: number;
  /** 'dense' for the fp32 baseline, 'bitlinear' for BitNet layers throughout. */
  layer: 'dense' | 'bitlinear';
  /** BitLinear options (units and initializer are set per layer). */
  bitnet?: Omit<BitLinearArgs, 'units' | 'name' | 'kernelInitializer'>;
  /** Seed of the kernel initializers; the same seed gives the same initial weights. */
  seed?: number;
  /** Softmax on the output (default true). */
  softmax?: boolean;
}

/** A multilayer perceptron whose layers are named `fc1`, `fc2`, ..., `head`. */
export function buildMlp(opts: MlpOptions): tf.Sequential {
  if (!(opts.inputSize > 0 && opts.outputs > 0 && opts.hidden.every((h) => Number.isInteger(h) && h > 0))) {
    throw new BitNetError('INVALID_CONFIG', `MLP sizes must be positive integers, got ${opts.inputSize}-${opts.hidden.join('-')}-${opts.outputs}`, {
      field: 'model.hidden',
    });
  }
  const seed = opts.seed ?? 0;
  const widths = [...opts.hidden, opts.outputs];
  const model = tf.sequential({ name: 'mlp' });
  model.add(tf.layers.inputLayer({ inputShape: [opts.inputSize], name: 'input' }));
  widths.forEach((units, i) => {
    const name = i === widths.length - 1 ? 'head' : `fc${i + 1}`;
    // + 1: tfjs takes a seed of 0 as no seed (Math.random)
    const kernelInitializer = tf.initializers.glorotUniform({ seed: seed * 1000 + i + 1 });
    if (opts.layer === 'dense') {
      model.add(tf.layers.dense({ units, name, kernelInitializer, useBias: true }));
    } else {
      model.add(bitLinear({ units, name, kernelInitializer, useBias: true, ...opts.bitnet }));
    }
    if (i < widths.length - 1) model.add(tf.layers.activation({ activation: 'relu', name: `relu${i + 1}` }));
  });
  if (opts.softmax ?? true) model.add(tf.layers.activation({ activation: 'softmax', name: 'softmax' }));
  return model;
}
