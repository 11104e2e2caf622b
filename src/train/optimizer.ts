import * as tf from '@tensorflow/tfjs';
import { fusedElementwise } from '../kernels/webgpu/elementwise-program.js';
import { sumOfSquares } from '../kernels/webgpu/reductions.js';
import type { OptimizerConfig } from './optimizer-config.js';
import { adamWStepOnWasm, nativeAdamWOnWasm } from '../kernels/native/wasm-adamw.js';
import { useFused } from '../kernels/webgpu/fused.js';

/** A trainable variable with a stable key (the same across processes, for checkpoints). */
export interface Param {
  key: string;
  variable: tf.Variable;
}

/**
 * Adam, AdamW and SGD with the learning rate and weight decay passed per step (schedules), and
 * state that checkpoints save and restore exactly. Written here because tfjs's optimizers fix the
 * learning rate at construction, have no decoupled weight decay, and restore state asynchronously
 * by variable name (names differ between processes).
 * Weight decay applies to matrices only (rank >= 2), not to biases and norm gains.
 */
export class Optimizer {
  private t = 0;
  private readonly slots = new Map<string, tf.Tensor[]>();

  constructor(readonly config: OptimizerConfig) {}

  get stepCount(): number {
    return this.t;
  }

  /**
   * One update. `gradScale` (a scalar on the device, from clipScale) multiplies every gradient
   * without a read back to the host: folded into Adam's moment coefficients, so it costs no kernel
   * per parameter.
   */
  step(params: readonly Param[], grads: ReadonlyMap<string, tf.Tensor>, lr: number, weightDecay: number, gradScale?: tf.Scalar): void {
    this.t++;
    if (this.config.type === 'adamw' && useFused('adamw')) {
      this.stepAdamWFused(params, grads, lr, weightDecay, gradScale);
      return;
    }
    if (this.config.type === 'adamw' && nativeAdamWOnWasm()) {
      this.stepAdamWNative(params, grads, lr, weightDecay, gradScale);
      return;
    }
    const { type, betas, eps, momentum } = this.config;
    const [b1, b2] = betas;
    const coefficients = tf.tidy(() =>
      gradScale === undefined ? undefined : { sgd: gradScale, m: tf.mul(gradScale, 1 - b1), v: tf.mul(tf.square(gradScale), 1 - b2) },
    );
    for (const { key, variable } of params) {
      const grad = grads.get(key);
      if (grad === undefined) continue;
      const decay = variable.rank >= 2 ? weightDecay : 0;
      const previous = this.slots.get(key);
      const next = tf.tidy(() => {
        let g = grad;
        if (coefficients !== undefined && (type === 'sgd' || type === 'adam')) g = tf.mul(g, coefficients.sgd);
        if (decay > 0 && type !== 'adamw') g = tf.add(g, tf.mul(variable, decay));
        if (type === 'sgd') {
          const buf = momentum > 0 ? tf.add(tf.mul(previous?.[0] ?? tf.zerosLike(g), momentum), g) : g;
          variable.assign(tf.sub(variable, tf.mul(buf, lr)));
          return momentum > 0 ? [buf] : [];
        }
        const scaled = coefficients !== undefined && type === 'adamw';
        const m = tf.add(tf.mul(previous?.[0] ?? tf.zerosLike(g), b1), tf.mul(g, scaled ? coefficients.m : 1 - b1));
        const v = tf.add(tf.mul(previous?.[1] ?? tf.zerosLike(g), b2), tf.mul(tf.square(g), scaled ? coefficients.v : 1 - b2));
        const mHat = tf.div(m, 1 - b1 ** this.t);
        const vHat = tf.div(v, 1 - b2 ** this.t);
        let update = tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
        if (decay > 0 && type === 'adamw') update = tf.add(update, tf.mul(variable, decay));
        variable.assign(tf.sub(variable, tf.mul(update, lr)));
        return [m, v];
      });
      if (previous !== undefined) tf.dispose(previous);
      this.slots.set(key, next);
    }
    if (coefficients !== undefined) tf.dispose([coefficients.m, coefficients.v]);
  }

  /**
   * AdamW on tfjs-webgpu in three dispatches per parameter (the moments, then the weight) where
   * the tfjs operations take sixteen: the step is bound by tfjs's per-kernel cost, not arithmetic.
   * The same formulas as the generic path; float rounding may differ in the last bits.
   */
  private stepAdamWFused(params: readonly Param[], grads: ReadonlyMap<string, tf.Tensor>, lr: number, weightDecay: number, gradScale?: tf.Scalar): void {
    const [b1, b2] = this.config.betas;
    const scaled = gradScale !== undefined;
    for (const { key, variable } of params) {
      const grad = grads.get(key);
      if (grad === undefined) continue;
      const previous = this.slots.get(key);
      const next = tf.tidy(() => {
        const n = variable.size;
        const flat = (t: tf.Tensor): tf.Tensor => tf.reshape(t, [n]);
        const g = { G: flat(grad), ...(scaled ? { S: tf.reshape(gradScale, [1]) } : {}) };
        const sg = scaled ? 's * g' : 'g';
        const m = fusedElementwise<tf.Rank.R1>(
          scaled ? 'adamw_m_scaled' : 'adamw_m',
          { M: previous === undefined ? tf.zeros([n]) : flat(previous[0] as tf.Tensor), ...g },
          { b1, c1: 1 - b1 },
          `uniforms.b1 * m + uniforms.c1 * (${sg})`,
        );
        const v = fusedElementwise<tf.Rank.R1>(
          scaled ? 'adamw_v_scaled' : 'adamw_v',
          { V: previous === undefined ? tf.zeros([n]) : flat(previous[1] as tf.Tensor), ...g },
          { b2, c2: 1 - b2 },
          `uniforms.b2 * v + uniforms.c2 * (${sg}) * (${sg})`,
        );
        const w = fusedElementwise<tf.Rank.R1>(
          'adamw_w',
          { W: flat(variable), M: m, V: v },
          { lr, decay: variable.rank >= 2 ? weightDecay : 0, bc1: 1 - b1 ** this.t, bc2: 1 - b2 ** this.t, eps: this.config.eps },
          'w - uniforms.lr * (m / uniforms.bc1 / (sqrt(v / uniforms.bc2) + uniforms.eps) + uniforms.decay * w)',
        );
        variable.assign(tf.reshape(w, variable.shape));
        return [tf.reshape(m, variable.shape), tf.reshape(v, variable.shape)];
      });
      if (previous !== undefined) tf.dispose(previous);
      this.slots.set(key, next);
    }
  }

  /** AdamW on tfjs-wasm with the native addon: one pass per parameter (src/kernels/native/wasm-adamw.ts). */
  private stepAdamWNative(params: readonly Param[], grads: ReadonlyMap<string, tf.Tensor>, lr: number, weightDecay: number, gradScale?: tf.Scalar): void {
    const [b1, b2] = this.config.betas;
    const scale = gradScale === undefined ? 1 : (gradScale.dataSync()[0] as number);
    for (const { key, variable } of params) {
      const grad = grads.get(key);
      if (grad === undefined) continue;
      const previous = this.slots.get(key) ?? [tf.zerosLike(variable), tf.zerosLike(variable)];
      const next = adamWStepOnWasm(variable, grad, previous[0] as tf.Tensor, previous[1] as tf.Tensor, {
        lr,
        betas: [b1, b2],
        eps: this.config.eps,
        decay: variable.rank >= 2 ? weightDecay : 0,
        biasCorrections: [1 - b1 ** this.t, 1 - b2 ** this.t],
        gradScale: scale,
      });
      tf.dispose(previous);
      this.slots.set(key, next);
    }
  }

  /** State tensors keyed `slot<i>/<param key>` (the caller must not dispose them). */
  stateTensors(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [key, slots] of this.slots) slots.forEach((s, i) => (out[`slot${i}/${key}`] = s));
    return out;
  }

  loadState(step: number, tensors: Readonly<Record<string, tf.Tensor>>): void {
    this.dispose();
    this.t = step;
    const grouped = new Map<string, tf.Tensor[]>();
    for (const [name, tensor] of Object.entries(tensors)) {
      const match = /^slot(\d+)\/(.*)$/.exec(name);
      if (match === null) continue;
      const list = grouped.get(match[2] as string) ?? [];
      list[Number(match[1])] = tensor;
      grouped.set(match[2] as string, list);
    }
    for (const [key, list] of grouped) this.slots.set(key, list);
  }

  dispose(): void {
    for (const slots of this.slots.values()) tf.dispose(slots);
    this.slots.clear();
  }
}

/** The L2 norm of all gradients together. */
function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  if (useFused('reductions')) return tf.tidy(() => tf.sqrt(sumOfSquares([...grads.values()])));
  // one stacked sum, not addN: tfjs-webgpu binds every addN input as a storage buffer, and WebGPU's default allows 8
  return tf.tidy(() => tf.sqrt(tf.sum(tf.stack([...grads.values()].map((g) => tf.sum(tf.square(g)))))) as tf.Scalar);
}

/**
 * The global norm of the gradients and the factor that clips it to maxNorm (1 when it is below),
 * both left on the device: Optimizer.step takes the factor, so a step needs no read back.
 */
export function clipScale(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { norm: tf.Scalar; scale: tf.Scalar } {
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    return { norm, scale: tf.div(maxNorm, tf.maximum(norm, maxNorm)) };
  });
}

/** Scales gradients so their global norm is at most maxNorm; returns the norm before clipping. */
export async function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<number> {
  const normTensor = globalNorm(grads);
  const norm = (await normTensor.data())[0] as number;
  normTensor.dispose();
  if (norm > maxNorm) {
    const scale = maxNorm / norm;
    for (const [key, g] of grads) {
      grads.set(key, tf.mul(g, scale));
      g.dispose();
    }
  }
  return norm;
}
