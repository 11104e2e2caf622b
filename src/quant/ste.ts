import * as tf from '@tensorflow/tfjs';
import type { ActivationScope } from './activation.js';
import { integerRange } from './activation.js';
import type { GroupSize } from './weight.js';

/**
 * Absmax integer quantization of activations in tfjs ops, the same float32 steps as
 * quantizeActivations: s = (1 / max(absmax, eps)) * Qp, q = clip(round_half_even(x * s)).
 * Returns the integer-valued q and s (per token: shape [..., 1]; per tensor: a scalar).
 */
export function quantizeActivationsTensor(x: tf.Tensor, bits: number, scope: ActivationScope, eps: number): { q: tf.Tensor; s: tf.Tensor } {
  return tf.tidy(() => {
    const { min, max } = integerRange(bits);
    const absmax = scope === 'token' ? tf.max(tf.abs(x), -1, true) : tf.max(tf.abs(x));
    const s = tf.mul(tf.reciprocal(tf.maximum(absmax, tf.scalar(Math.fround(eps)))), tf.scalar(max));
    const q = tf.clipByValue(tf.round(tf.mul(x, s)), min, max);
    return { q, s };
  });
}

/** quant-dequant of activations: q / s. */
export function fakeQuantActivations(x: tf.Tensor, bits: number, scope: ActivationScope, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { q, s } = quantizeActivationsTensor(x, bits, scope, eps);
    return tf.div(q, s);
  });
}

/**
 * Absmean ternary quantization of a Dense-layout kernel [in, out] in tfjs ops. Groups run
 * along the input dimension of each output unit (a row of the PyTorch [out, in] weight).
 * Returns q in {-1,0,1} and beta: a scalar per tensor, or [in/groupSize, 1, out] per group.
 */
export function quantizeKernelTensor(kernel: tf.Tensor2D, groupSize: GroupSize, eps: number): { q: tf.Tensor; beta: tf.Tensor } {
  return tf.tidy(() => {
    const [inDim, outDim] = kernel.shape;
    const grouped = groupSize === 'tensor' ? kernel : tf.reshape(kernel, [inDim / groupSize, groupSize, outDim]);
    const mean = groupSize === 'tensor' ? tf.mean(tf.abs(grouped)) : tf.mean(tf.abs(grouped), 1, true);
    const beta = tf.maximum(mean, tf.scalar(Math.fround(eps)));
    const q = tf.clipByValue(tf.round(tf.mul(grouped, tf.reciprocal(beta))), -1, 1);
    return { q, beta };
  });
}

/** quant-dequant of a Dense-layout kernel: q * beta, same shape as the kernel. */
export function fakeQuantKernel(kernel: tf.Tensor2D, groupSize: GroupSize, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const { q, beta } = quantizeKernelTensor(kernel, groupSize, eps);
    return tf.reshape(tf.mul(q, beta), kernel.shape);
  });
}

/**
 * Straight-through estimator: the forward value is `x + lambda * (quant(x) - x)` (exactly
 * quant(x) at lambda = 1 and x at lambda = 0), the gradient passes through unchanged.
 */
export function straightThrough<T extends tf.Tensor>(x: T, quant: (x: T) => tf.Tensor, lambda = 1): T {
  if (lambda === 0) return tf.clone(x);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const value = tf.tidy(() => {
      const q = quant(input as T);
      if (lambda === 1) return q;
      return tf.add(input, tf.mul(tf.scalar(lambda), tf.sub(q, input)));
    });
    return { value, gradFunc: (dy: tf.Tensor) => dy };
  });
  return f(x) as T;
}
