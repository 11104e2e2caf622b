import * as tf from '@tensorflow/tfjs';
import { fusedElementwise } from '../kernels/webgpu/elementwise-program.js';

const R = 'inverseSqrt(m + uniforms.eps)';

/**
 * RMSNorm with a gain on tfjs-webgpu: the mean square (two tfjs kernels) and one WGSL program
 * forward; backward the closed form (dx = r·g·dy − x·r³·mean(g·dy·x), dg = Σ dy·x·r) in three
 * programs and two reductions, where autograd through the tfjs operations takes about eighteen
 * kernels in all. The forward is the tfjs operations' float32 steps in their order.
 */
export function rmsNormFused(x: tf.Tensor, gamma: tf.Tensor, eps: number): tf.Tensor {
  const uniforms = { eps: Math.fround(eps) };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gain, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const ms = tf.mean(tf.square(input), -1, true);
    // tfjs keeps saved tensors only while a gradient is being recorded, and frees them after it
    save([input, gain, ms]);
    const value = fusedElementwise('rms_norm', { X: input, M: ms, G: gain }, uniforms, `x * ${R} * g`);
    ms.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, g, m] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const s = tf.mean(fusedElementwise('rms_norm_dyx', { D: dy, X: xs, G: g }, {}, 'd * g * x'), -1, true);
          const dx = fusedElementwise('rms_norm_dx', { D: dy, X: xs, G: g, M: m, S: s }, uniforms, `${R} * g * d - x * ${R} * ${R} * ${R} * s`);
          const rows = fusedElementwise('rms_norm_dg', { D: dy, X: xs, M: m }, uniforms, `d * x * ${R}`);
          return [dx, tf.sum(tf.reshape(rows, [-1, g.size]), 0)];
        }),
    };
  });
  return f(x, gamma);
}
