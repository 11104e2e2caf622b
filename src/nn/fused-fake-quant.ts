import * as tf from '@tensorflow/tfjs';
import { fusedElementwise } from '../kernels/webgpu/elementwise-program.js';
import { reduceRows, sumAll } from '../kernels/webgpu/reductions.js';
import { integerRange, type ActivationScope } from '../quant/activation.js';
import { fakeQuantActivations, fakeQuantKernel } from '../quant/ste.js';
import type { GroupSize } from '../quant/weight.js';
import { useFused } from '../kernels/webgpu/fused.js';
import { fakeQuantRowsOnWasm, fakeQuantTernaryOnWasm, nativeTrainingOnWasm } from '../kernels/native/wasm-training.js';

/**
 * The training forward's fake quantization (quant/ste.ts) with the elementwise steps fused into one
 * WGSL dispatch on tfjs-webgpu: the reduction (absmax per token; absmean per tensor in two
 * stages, reductions.ts) and one program, where the tfjs operations take eight or nine kernels.
 * Per token the same float32 steps in the same order; other backends, per-tensor activations and
 * group-wise kernels take the tfjs operations. On tfjs-wasm with the native addon, one native pass
 * (kernels/native/wasm-training.ts).
 */
export function fakeQuantActivationsFused(x: tf.Tensor, bits: number, scope: ActivationScope, eps: number): tf.Tensor {
  if (scope === 'token' && nativeTrainingOnWasm('fake-quant')) return fakeQuantRowsOnWasm(x, bits, eps);
  if (!useFused('fake-quant') || scope !== 'token') return fakeQuantActivations(x, bits, scope, eps);
  return tf.tidy(() => {
    const { min, max } = integerRange(bits);
    const absmax = useFused('reductions') ? reduceRows({ X: x }, 'abs(x)', 'max') : tf.max(tf.abs(x), -1, true);
    const s = '((1.0 / max(a, uniforms.eps)) * uniforms.qmax)';
    return fusedElementwise(
      'fake_quant_activations',
      { X: x, A: absmax },
      { eps: Math.fround(eps), qmin: min, qmax: max },
      `clamp(round(x * ${s}), uniforms.qmin, uniforms.qmax) / ${s}`,
    );
  });
}

export function fakeQuantKernelFused(kernel: tf.Tensor2D, groupSize: GroupSize, eps: number): tf.Tensor2D {
  if (groupSize === 'tensor' && nativeTrainingOnWasm('fake-quant')) return fakeQuantTernaryOnWasm(kernel, eps);
  if (!useFused('fake-quant') || groupSize !== 'tensor') return fakeQuantKernel(kernel, groupSize, eps);
  return tf.tidy(() => {
    const mean = useFused('reductions') ? sumAll(kernel, 'abs', 1 / kernel.size) : tf.mean(tf.abs(kernel));
    const beta = 'max(m, uniforms.eps)';
    return fusedElementwise<tf.Rank.R2>(
      'fake_quant_kernel',
      { W: kernel, M: mean },
      { eps: Math.fround(eps) },
      `clamp(round(w * (1.0 / ${beta})), -1.0, 1.0) * ${beta}`,
    );
  });
}
