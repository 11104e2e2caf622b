import * as tf from '@tensorflow/tfjs';
import { matMulOnWebGpu } from '../kernels/webgpu/tiled-matmul.js';
import { nativeMatMulOnWasm } from '../kernels/native/wasm-matmul.js';
import { useFused } from '../kernels/webgpu/fused.js';

/**
 * x [n, k] · w [k, m] whose gradients transpose explicitly (dx = dy · wᵀ, dw = xᵀ · dy) instead of
 * asking matMul for transposed operands: tfjs-wasm's BatchMatMul with transposeA/transposeB runs
 * 2-4x slower than a transpose followed by a plain product (measured on [1024, 256] x [1024, 512]).
 * On tfjs-webgpu the three go by matMulOnWebGpu (tiled-matmul.ts): the tiled WGSL product, which
 * reads transposes in place, where the output is large enough. On tfjs-wasm with the native GEMM
 * behind BatchMatMul (src/kernels/native/wasm-matmul.ts) the transposes are read in place too.
 */
export function linearMatMul(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const tiled = useFused('matmul');
  const inPlace = nativeMatMulOnWasm();
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tiled ? matMulOnWebGpu(a, b, false, false) : tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        if (tiled) return [matMulOnWebGpu(dy as tf.Tensor2D, sb, false, true), matMulOnWebGpu(sa, dy as tf.Tensor2D, true, false)];
        if (inPlace) return [tf.matMul(dy, sb, false, true), tf.matMul(sa, dy, true, false)];
        return [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}
