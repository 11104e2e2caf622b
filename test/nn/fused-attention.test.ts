// Issue #16: causal attention on tfjs-webgpu runs as flash-style WGSL programs (RoPE, GQA and the
// causal mask inside; no [T, T] scores) with a hand-written backward. Value and the gradients for
// q, k and v must match autograd through CausalAttention's tfjs operations on the cpu backend.
// Shapes cover a partial workgroup (T not a multiple of 64), several key tiles, grouped heads
// and llama3 rope scaling. On llvmpipe in CI.
import { describe, expect, it } from 'vitest';
import { causalAttentionOps } from '../../src/nn/causal-attention.js';
import { causalAttentionFused } from '../../src/nn/fused-attention.js';
import { llama3FreqFactors } from '../../src/nn/rope.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('fused attention on webgpu');

interface Case {
  batch: number;
  time: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  freqFactors?: number[];
}

type Attend = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;

/** y, and the gradients of sum(y · w) for a fixed w with respect to q, k, v. */
async function run(backend: 'cpu' | 'webgpu', c: Case, attend: Attend): Promise<Float32Array[]> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const qShape: [number, number, number] = [c.batch, c.time, c.heads * c.headDim];
  const kShape: [number, number, number] = [c.batch, c.time, c.kvHeads * c.headDim];
  const size = (s: number[]): number => s.reduce((a, d) => a * d, 1);
  const q = tf.tensor3d(seededArray(size(qShape), 11, 1), qShape);
  const k = tf.tensor3d(seededArray(size(kShape), 12, 1), kShape);
  const v = tf.tensor3d(seededArray(size(kShape), 13, 1), kShape);
  const w = tf.tensor3d(seededArray(size(qShape), 14, 1), qShape);
  const y = tf.tidy(() => attend(q, k, v));
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(attend(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D), w)))([
    q,
    k,
    v,
  ]);
  const out = await Promise.all([y, ...grads].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([q, k, v, w, y, ...grads]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

const CASES: Record<string, Case> = {
  'GQA, 3 key tiles, partial workgroup': { batch: 2, time: 70, heads: 4, kvHeads: 2, headDim: 64 },
  'multi-head, head dim 16, 2 workgroups': { batch: 1, time: 130, heads: 2, kvHeads: 2, headDim: 16 },
  // at head size 64 this shape outruns llvmpipe's loop limit (src/kernels/webgpu/fused.ts)
  'GQA 4:1 twice, two full workgroups': { batch: 2, time: 128, heads: 8, kvHeads: 2, headDim: 32 },
  'llama3 rope scaling, 4 query heads per kv head': {
    batch: 1,
    time: 33,
    heads: 4,
    kvHeads: 1,
    headDim: 32,
    freqFactors: [...llama3FreqFactors(32, 10000, { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 16 })],
  },
};

describe.runIf(available)('causal attention fused on webgpu', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: value and dq, dk, dv equal autograd on cpu within float rounding`, async () => {
      const theta = 10000;
      const settings = { numHeads: c.heads, numKvHeads: c.kvHeads, ropeTheta: theta, ropeFreqFactors: c.freqFactors };
      const gpu = await run('webgpu', c, (q, k, v) =>
        causalAttentionFused(q, k, v, { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim }, theta, c.freqFactors),
      );
      const cpu = await run('cpu', c, (q, k, v) => causalAttentionOps(q, k, v, settings));
      ['y', 'dq', 'dk', 'dv'].forEach((what, t) => {
        const ref = cpu[t] as Float32Array;
        const got = gpu[t] as Float32Array;
        const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let worst = 0;
        ref.forEach((r, i) => (worst = Math.max(worst, Math.abs((got[i] as number) - r))));
        expect(scale, `${what} is not all zero`).toBeGreaterThan(0.01);
        expect(worst / scale, what).toBeLessThan(2e-5);
      });
    });
  }
});
