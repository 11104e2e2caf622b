import * as tf from '@tensorflow/tfjs';
import { f32Literal } from '../kernels/webgpu/custom-program.js';
import { fusedElementwise } from '../kernels/webgpu/elementwise-program.js';
import { reduceRows, sumRows } from '../kernels/webgpu/reductions.js';
import { useFused } from '../kernels/webgpu/fused.js';

const R = 'inverseSqrt(m + uniforms.eps)';

/**
 * RMSNorm with a gain on tfjs-webgpu: the mean square (a row reduction, reductions.ts) and one
 * WGSL program forward; backward the closed form (dx = r·g·dy − x·r³·mean(g·dy·x), dg = Σ dy·x·r)
 * in a row reduction, one program and a two-stage sum over rows, where autograd through the tfjs
 * operations takes about eighteen kernels in all.
 */
export function rmsNormFused(x: tf.Tensor, gamma: tf.Tensor, eps: number): tf.Tensor {
  const uniforms = { eps: Math.fround(eps) };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gain, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const cols = input.shape.at(-1) as number;
    const ms = useFused('reductions') ? reduceRows({ X: input }, 'x * x', 'sum', 1 / cols) : tf.mean(tf.square(input), -1, true);
    // tfjs keeps saved tensors only while a gradient is being recorded, and frees them after it
    save([input, gain, ms]);
    const value = fusedElementwise('rms_norm', { X: input, M: ms, G: gain }, uniforms, `x * ${R} * g`);
    ms.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, g, m] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const s = useFused('reductions')
            ? reduceRows({ D: dy, X: xs, G: g }, 'd * g * x', 'sum', 1 / cols)
            : tf.mean(fusedElementwise('rms_norm_dyx', { D: dy, X: xs, G: g }, {}, 'd * g * x'), -1, true);
          const dx = fusedElementwise('rms_norm_dx', { D: dy, X: xs, G: g, M: m, S: s }, uniforms, `${R} * g * d - x * ${R} * ${R} * ${R} * s`);
          if (useFused('reductions')) {
            const flat = { D: tf.reshape(dy, [-1, g.size]), X: tf.reshape(xs, [-1, g.size]), M: tf.reshape(m, [-1, 1]) };
            return [dx, sumRows(flat, `d * x * inverseSqrt(m + ${f32Literal(uniforms.eps)})`)];
          }
          const rows = fusedElementwise('rms_norm_dg', { D: dy, X: xs, M: m }, uniforms, `d * x * ${R}`);
          return [dx, tf.sum(tf.reshape(rows, [-1, g.size]), 0)];
        }),
    };
  });
  return f(x, gamma);
}
