import * as tf from '@tensorflow/tfjs';
import { selectBackend, type ConcreteBackend } from '../../src/backend.js';
import '../../src/nn/register.js';

export { tf };

export async function useBackend(name: ConcreteBackend): Promise<void> {
  await selectBackend(name);
}

/** Runs fn and returns how many tensors it left behind. */
export async function leakedTensors(fn: () => unknown): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

export function seededArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
