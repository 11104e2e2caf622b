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

/**
 * Starts the webgpu backend for a test file: on machines without a GPU, Mesa's llvmpipe through
 * Dawn's OpenGL backend. False (with a SKIPPED warning) when no adapter is found, unless
 * BITNET_REQUIRE_WEBGPU=1 (CI), where that is a failure.
 */
export async function webgpuForTests(what: string): Promise<boolean> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  process.env.BITNET_WEBGPU_FLAGS ??= 'backend=opengl';
  return useBackend('webgpu').then(
    () => true,
    (e: unknown) => {
      if (process.env.BITNET_REQUIRE_WEBGPU === '1') throw e;
      console.warn(`SKIPPED: ${what} — ${(e as Error).message}`);
      return false;
    },
  );
}
