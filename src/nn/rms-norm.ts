import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { rmsNormFused } from './fused-rms-norm.js';
import { singleInput, singleShape, type Kwargs, type LayerArgs, type LayerVariable, type Shape } from './tfjs-types.js';
import { useFused } from '../kernels/webgpu/fused.js';
import { nativeTrainingOnWasm, rmsNormOnWasm } from '../kernels/native/wasm-training.js';

/** `x * rsqrt(mean(x^2, last axis) + eps) * gamma`, in float32. */
export function rmsNorm(x: tf.Tensor, gamma: tf.Tensor | undefined, eps: number): tf.Tensor {
  if (gamma !== undefined && useFused('rms-norm')) return rmsNormFused(x, gamma, eps);
  if (gamma !== undefined && nativeTrainingOnWasm('rms-norm')) return rmsNormOnWasm(x, gamma, eps);
  return tf.tidy(() => {
    const normed = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), tf.scalar(eps))));
    return gamma === undefined ? normed : tf.mul(normed, gamma);
  });
}

export interface RMSNormArgs extends LayerArgs {
  /** Added to the mean square before the square root. Default 1e-5. */
  epsilon?: number;
}

/** RMSNorm over the last axis with a learnable gain `gamma` (initialised to ones). */
export class RMSNorm extends tf.layers.Layer {
  static className = 'RMSNorm';
  readonly epsilon: number;
  private gamma: LayerVariable | undefined;

  constructor(args: RMSNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
    if (!(this.epsilon > 0)) {
      throw new BitNetError('INVALID_CONFIG', `RMSNorm epsilon must be positive, got ${this.epsilon}`, { field: 'epsilon' });
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const dim = singleShape(inputShape).at(-1);
    if (dim === null || dim === undefined) {
      throw new BitNetError('INVALID_SHAPE', 'RMSNorm needs a known last dimension', { field: 'inputShape' });
    }
    this.gamma = this.addWeight('gamma', [dim], 'float32', tf.initializers.ones());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => rmsNorm(singleInput(inputs), this.gamma?.read(), this.epsilon));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

export function rmsNormLayer(args?: RMSNormArgs): RMSNorm {
  return new RMSNorm(args);
}
