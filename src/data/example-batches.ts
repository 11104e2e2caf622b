import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { EpochOrder } from './shuffle.js';
import type { TokenStore } from './token-store.js';

/** Labels of positions that get no loss (context, padding), as in transformers and TRL. */
export const IGNORE_INDEX = -100;

/** A token range of a store cut into model windows. */
export interface WindowPlan {
  /** Inputs per window (targets are the next token of each). */
  contextLength: number;
  /** 'packed': examples end to end, windows of contextLength + 1 tokens; 'padded': one example per window. */
  packing: 'packed' | 'padded';
  /** Pad id of padded windows (never a target). */
  padId: number;
}

export interface Windows {
  readonly count: number;
  /** Inputs [T] and labels [T] (next token, or IGNORE_INDEX) of window w. */
  window(w: number): { x: Int32Array; y: Int32Array };
}

/**
 * Windows over examples [first, end) of a store. Packed: the examples' tokens end to end, window
 * w covering tokens [wT, wT + T] (attention crosses example boundaries inside a window, as TRL's
 * packing without position ids). Padded: example k alone, cut to T + 1 tokens, padded on the right
 * (causal attention never reads the padding; no example sees another).
 */
export function exampleWindows(store: TokenStore, first: number, end: number, plan: WindowPlan): Windows {
  const t = plan.contextLength;
  const from = store.offsets[first] as number;
  const to = store.offsets[end] as number;
  const fill = (ids: Int32Array, mask: Uint8Array): { x: Int32Array; y: Int32Array } => {
    const x = new Int32Array(t).fill(plan.padId);
    const y = new Int32Array(t).fill(IGNORE_INDEX);
    for (let i = 0; i < Math.min(t, ids.length); i++) x[i] = ids[i] as number;
    for (let i = 0; i + 1 < ids.length && i < t; i++) if (mask[i + 1] === 1) y[i] = ids[i + 1] as number;
    return { x, y };
  };
  if (plan.packing === 'packed') {
    return {
      count: Math.max(0, Math.floor((to - from - 1) / t)),
      window: (w) => {
        const { ids, mask } = store.read(from + w * t, t + 1);
        return fill(ids, mask);
      },
    };
  }
  return {
    count: end - first,
    window: (w) => {
      const start = store.offsets[first + w] as number;
      const length = Math.min(t + 1, (store.offsets[first + w + 1] as number) - start);
      const { ids, mask } = store.read(start, length);
      return fill(ids, mask);
    },
  };
}

/**
 * Training batches of windows: epoch e visits them in the permutation seeded by (seed, e); the
 * batch of a step depends on nothing else, so a resumed run sees the same batches.
 */
export class WindowBatches {
  readonly stepsPerEpoch: number;
  private readonly orders: EpochOrder;

  constructor(
    readonly windows: Windows,
    readonly contextLength: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (windows.count === 0) {
      throw new BitNetError('INVALID_DATA', 'the training data makes no window of contextLength + 1 tokens', {
        field: 'data.contextLength',
        hint: 'add data or lower data.contextLength',
      });
    }
    this.stepsPerEpoch = Math.max(1, Math.floor(windows.count / batchSize));
    this.orders = new EpochOrder(windows.count, seed);
  }

  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  /** Inputs and labels [B, T] of a step, as arrays. */
  arrays(step: number): { x: Int32Array; y: Int32Array } {
    const order = this.orders.of(this.epochOf(step));
    const t = this.contextLength;
    const x = new Int32Array(this.batchSize * t);
    const y = new Int32Array(this.batchSize * t);
    const start = (step % this.stepsPerEpoch) * this.batchSize;
    for (let b = 0; b < this.batchSize; b++) {
      const w = this.windows.window(order[(start + b) % this.windows.count] as number);
      x.set(w.x, b * t);
      y.set(w.y, b * t);
    }
    return { x, y };
  }

  batch(step: number): { x: tf.Tensor2D; labels: tf.Tensor2D } {
    const { x, y } = this.arrays(step);
    return { x: tf.tensor2d(x, [this.batchSize, this.contextLength], 'int32'), labels: tf.tensor2d(y, [this.batchSize, this.contextLength], 'int32') };
  }
}
