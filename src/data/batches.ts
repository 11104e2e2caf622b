import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from './mnist.js';
import { EpochOrder } from './shuffle.js';

/**
 * Deterministic mini-batches: epoch e visits the examples in the permutation seeded by
 * (seed, e); the last partial batch is dropped. The batch of a step depends on nothing else,
 * so a resumed run sees exactly the batches an uninterrupted one would.
 */
export class ImageBatches {
  readonly stepsPerEpoch: number;
  private readonly orders: EpochOrder;

  constructor(
    readonly data: LabeledImages,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    this.stepsPerEpoch = Math.max(1, Math.floor(data.count / batchSize));
    this.orders = new EpochOrder(data.count, seed);
  }

  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  /** Images [B, features] and integer labels [B] of a step. */
  batch(step: number): { x: tf.Tensor2D; labels: tf.Tensor1D } {
    const order = this.orders.of(this.epochOf(step));
    const start = (step % this.stepsPerEpoch) * this.batchSize;
    const size = Math.min(this.batchSize, this.data.count);
    const f = this.data.features;
    const images = new Float32Array(size * f);
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const src = order[start + i] as number;
      images.set(this.data.images.subarray(src * f, (src + 1) * f), i * f);
      labels[i] = this.data.labels[src] as number;
    }
    return { x: tf.tensor2d(images, [size, f]), labels: tf.tensor1d(labels, 'int32') };
  }
}
