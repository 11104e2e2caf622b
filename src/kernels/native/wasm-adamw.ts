import * as tf from '@tensorflow/tfjs';
import { settings } from '../../settings.js';
import { nativeAdamW } from './tier.js';
import { heapView, type WasmBackendHeap } from './wasm-heap.js';

export interface AdamWStep {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  decay: number;
  /** 1 - beta^t for both moments. */
  biasCorrections: readonly [number, number];
  /** Multiplies the gradient (the clip scale); 1 for none. */
  gradScale: number;
}

/** Whether AdamW on tfjs-wasm runs natively (the addon is built, the backend is wasm, the `unfused` setting does not name adamw). */
export function nativeAdamWOnWasm(): boolean {
  return tf.getBackend() === 'wasm' && !settings().unfused.includes('adamw') && nativeAdamW() !== undefined;
}

/**
 * One AdamW update of `variable` in a single native pass over the wasm heap (adamw.c), where the
 * tfjs operations take about twelve kernels per parameter. Assigns the new weight and returns the
 * new moments (the caller owns them); the inputs are left as they were.
 */
export function adamWStepOnWasm(variable: tf.Variable, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: AdamWStep): [tf.Tensor, tf.Tensor] {
  const update = nativeAdamW();
  if (update === undefined) throw new Error('adamWStepOnWasm needs the native addon');
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const shape = variable.shape;
  const outputs = [0, 1, 2].map(() => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32')));
  const [w, mNext, vNext] = outputs as [tf.Tensor, tf.Tensor, tf.Tensor];
  const n = variable.size;
  const view = (t: tf.Tensor): Float32Array => heapView(backend, t, n);
  const [b1, b2] = o.betas;
  update(
    view(variable),
    view(grad),
    view(m),
    view(v),
    view(w),
    view(mNext),
    view(vNext),
    Float64Array.of(o.lr, b1, b2, ...o.biasCorrections, o.eps, o.decay, o.gradScale),
  );
  variable.assign(w);
  w.dispose();
  return [mNext, vNext];
}
