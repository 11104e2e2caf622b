import * as tf from '@tensorflow/tfjs';
import { settings, threadsFor, type FusedPath } from '../../settings.js';
import { integerRange } from '../../quant/activation.js';
import { nativeTraining } from './tier.js';
import { heapView, type WasmBackendHeap } from './wasm-heap.js';

/** train.c's op codes. */
const OP = { fakeQuantRows: 0, fakeQuantTernary: 1, rmsNorm: 2, rmsNormBack: 3, swiglu: 4, swigluBack: 5, attention: 6, attentionBack: 7 } as const;

/** Whether a fused training path runs natively on tfjs-wasm (the addon is built, the backend is wasm, the `unfused` setting does not name it). */
export function nativeTrainingOnWasm(path: FusedPath): boolean {
  return tf.getBackend() === 'wasm' && !settings().unfused.includes(path) && nativeTraining() !== undefined;
}

/** The instruction set of the native training kernels, or undefined without the addon. */
export function wasmTrainingPath(): string | undefined {
  return nativeTraining()?.path;
}

/**
 * Runs one train.c kernel on tfjs-wasm tensors in place: allocates the outputs in the wasm heap,
 * passes every tensor as a view (taken after the last allocation) and returns the outputs.
 * `work` (about the multiply-adds) decides the threads.
 */
function runOnHeap(op: number, inputs: tf.Tensor[], outputShapes: number[][], dims: number[], params: number[], work: number): tf.Tensor[] {
  const native = nativeTraining();
  if (native === undefined) throw new Error('the native training kernels need the addon');
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`native training kernels take float32, got ${t.dtype}`);
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const outputs = outputShapes.map((shape) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32')));
  const views = [...inputs, ...outputs].map((t) => heapView(backend, t, t.size));
  native.train(op, views, Int32Array.from(dims), Float64Array.from(params), threadsFor(work));
  return outputs;
}

/** Elementwise passes weigh this many multiply-adds per element when choosing threads. */
const ELEMENT_WORK = 16;

/** Per-token absmax fake quantization (quant/ste.ts fakeQuantActivations, 'token'), one native pass. */
export function fakeQuantRowsOnWasm(x: tf.Tensor, bits: number, eps: number): tf.Tensor {
  const cols = x.shape.at(-1) as number;
  const { min, max } = integerRange(bits);
  const [y] = runOnHeap(OP.fakeQuantRows, [x], [x.shape], [x.size / cols, cols], [min, max, Math.fround(eps)], x.size * ELEMENT_WORK);
  return y as tf.Tensor;
}

/** Per-tensor absmean ternary fake quantization of a kernel (quant/ste.ts fakeQuantKernel, 'tensor'); the mean in double. */
export function fakeQuantTernaryOnWasm(kernel: tf.Tensor2D, eps: number): tf.Tensor2D {
  const [y] = runOnHeap(OP.fakeQuantTernary, [kernel], [kernel.shape], kernel.shape, [Math.fround(eps)], kernel.size * ELEMENT_WORK);
  return y as tf.Tensor2D;
}

/** RMSNorm with a gain, forward and backward natively (the closed-form gradient of fused-rms-norm.ts). */
export function rmsNormOnWasm(x: tf.Tensor, gamma: tf.Tensor, eps: number): tf.Tensor {
  const cols = gamma.size;
  const rows = x.size / cols;
  const dims = [rows, cols];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gain, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [value, inverse] = runOnHeap(OP.rmsNorm, [input, gain], [input.shape, [rows]], dims, [Math.fround(eps)], input.size * ELEMENT_WORK) as [
      tf.Tensor,
      tf.Tensor,
    ];
    // tfjs keeps saved tensors only while a gradient is being recorded
    save([input, gain, inverse]);
    inverse.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runOnHeap(OP.rmsNormBack, [dy, ...saved], [input.shape, gain.shape], dims, [], input.size * ELEMENT_WORK * 2),
    };
  });
  return f(x, gamma);
}

/** silu(gate) · up, forward and backward natively. */
export function swiGluOnWasm(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [g, u, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([g, u]);
    const [value] = runOnHeap(OP.swiglu, [g, u], [g.shape], [g.size], [], g.size * ELEMENT_WORK * 4);
    return {
      value: value as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runOnHeap(OP.swigluBack, [dy, ...saved], [g.shape, g.shape], [g.size], [], g.size * ELEMENT_WORK * 8),
    };
  });
  return f(gate, up);
}

export interface NativeAttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** RoPE's cos and sin per position and pair, [T, D/2] row-major each (nn/rope.ts ropeTableArrays). */
  rope: readonly [Float32Array, Float32Array];
}

/**
 * Causal attention with NeoX RoPE and grouped key/value heads on [B, T, heads * D] tensors,
 * natively: per (batch, key/value head) the rotated rows, scores a row at a time, the softmax's
 * log-sum-exp kept for the backward, which recomputes the probabilities (no [T, T] tensor, no
 * transposes, splits or concatenations of heads).
 */
export function causalAttentionOnWasm(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, s: NativeAttentionShape): tf.Tensor3D {
  const [batch, time] = q.shape;
  const dims = [batch, time, s.heads, s.kvHeads, s.headDim];
  const work = batch * s.heads * time * time * s.headDim;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, ki, vi, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const tables = s.rope.map((table) => tf.tensor2d(table, [time, s.headDim / 2]));
    const [value, lse] = runOnHeap(OP.attention, [qi, ki, vi, ...tables], [qi.shape, [batch, s.heads, time]], dims, [], work) as [tf.Tensor3D, tf.Tensor];
    save([qi, ki, vi, ...tables, value, lse]);
    for (const t of [...tables, lse]) t.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runOnHeap(OP.attentionBack, [dy, ...saved], [qi.shape, ki.shape, vi.shape], dims, [], work * 3),
    };
  });
  return f(q, k, v);
}
