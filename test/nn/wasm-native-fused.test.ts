// The fused training kernels of the native addon on tfjs-wasm (src/kernels/native/train.c through
// wasm-training.ts): fake quantization against the quantization core (bit for bit), RMSNorm,
// SwiGLU and causal attention with RoPE and grouped heads against the tfjs operations they
// replace, values and gradients, on shapes off the kernels' 16-lane and 64-column blocks.
// CI runs this file once per instruction set the CPU has (BITNET_NATIVE_ISA).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeTier, nativeTraining } from '../../src/kernels/native/tier.js';
import {
  causalAttentionOnWasm,
  fakeQuantRowsOnWasm,
  fakeQuantTernaryOnWasm,
  nativeTrainingOnWasm,
  rmsNormOnWasm,
  swiGluOnWasm,
} from '../../src/kernels/native/wasm-training.js';
import { causalAttentionOps } from '../../src/nn/causal-attention.js';
import { llama3FreqFactors, ropeTableArrays } from '../../src/nn/rope.js';
import { rmsNorm } from '../../src/nn/rms-norm.js';
import { swiGluOps } from '../../src/nn/swiglu.js';
import { quantizeActivations } from '../../src/quant/activation.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { configure, FUSED_PATHS } from '../../src/settings.js';
import { leakedTensors, seededArray, tf, useBackend } from '../helpers/tf.js';

const hasAddon = loadNativeTier() !== null;

/** Cases that exist only with the addon (the first test asserts its absence otherwise: nothing is skipped). */
const withAddon = (name: string, fn: () => unknown): void => {
  if (hasAddon) it(name, fn);
};

/** Largest difference relative to the largest magnitude of `want`. */
function relativeDiff(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 0;
  want.forEach((w, i) => {
    diff = Math.max(diff, Math.abs(w - (got[i] as number)));
    scale = Math.max(scale, Math.abs(w));
  });
  return diff / scale;
}

/** The value and the gradients of sum(f(inputs) * weights) (a fixed cotangent), as arrays. */
async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): Promise<Float32Array[]> {
  const out = tf.tidy(() => {
    const y = f(...inputs);
    const cotangent = tf.tensor(seededArray(y.size, seed), y.shape);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), cotangent)))(inputs);
    return [y, ...grads];
  });
  const arrays = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(out);
  return arrays;
}

describe('fused native training kernels on tfjs-wasm', () => {
  beforeAll(async () => useBackend('wasm'));
  afterAll(() => configure({ unfused: [] }));

  it('run exactly when the addon is built and the unfused setting does not name them', () => {
    configure({ unfused: [] });
    for (const path of ['fake-quant', 'rms-norm', 'swiglu', 'attention'] as const) {
      expect(nativeTrainingOnWasm(path)).toBe(hasAddon);
      configure({ unfused: [path] });
      expect(nativeTrainingOnWasm(path)).toBe(false);
      configure({ unfused: [] });
    }
    if (hasAddon) expect(['avx512', 'avx2', 'scalar']).toContain(nativeTraining()?.path);
  });

  withAddon('fake quantization equals the quantization core bit for bit', async () => {
    const rows = 37;
    const cols = 200;
    const data = seededArray(rows * cols, 3, 2);
    data[5] = 0;
    data.fill(0, cols, 2 * cols); // an all-zero row: the scale comes from eps
    for (const bits of [8, 4]) {
      const x = tf.tensor2d(data, [rows, cols]);
      const y = fakeQuantRowsOnWasm(x, bits, 1e-5);
      const want = quantizeActivations(data, [rows, cols], { scope: 'token', bits, eps: 1e-5 }).dequantize();
      // (-0 where the core's integer values have 0: adding 0 makes them equal)
      expect(Array.from(await y.data(), (v) => v + 0)).toEqual(Array.from(want));
      tf.dispose([x, y]);
    }
    const inDim = 96;
    const outDim = 51;
    const w = seededArray(inDim * outDim, 4, 0.05);
    const kernel = tf.tensor2d(w, [inDim, outDim]);
    const q = fakeQuantTernaryOnWasm(kernel, 1e-5);
    // per tensor, the layout does not matter: the same mean, elementwise the same rounding
    const ternary = quantizeWeights(w, [inDim, outDim], { groupSize: 'tensor', eps: 1e-5 });
    const beta = ternary.scales[0] as number;
    const got = (await q.data()) as Float32Array;
    expect(Array.from(got, (v) => v + 0)).toEqual(Array.from(ternary.values, (v) => Math.fround(v * beta)));
    expect(new Set(ternary.values).size).toBe(3);
    tf.dispose([kernel, q]);
  });

  withAddon('RMSNorm: values and gradients of the tfjs operations', async () => {
    for (const [rows, cols] of [
      [33, 100],
      [8, 256],
      [3, 7],
    ] as const) {
      const x = tf.tensor2d(seededArray(rows * cols, rows + cols, 3), [rows, cols]);
      const gamma = tf.tensor1d(seededArray(cols, 9, 1));
      configure({ unfused: [...FUSED_PATHS] });
      const want = await valueAndGrads((a, g) => rmsNorm(a, g, 1e-5), [x, gamma], 21);
      configure({ unfused: [] });
      const got = await valueAndGrads((a, g) => rmsNormOnWasm(a, g, 1e-5), [x, gamma], 21);
      got.forEach((g, i) => expect(relativeDiff(g, want[i] as Float32Array), `${rows}x${cols} output ${i}`).toBeLessThan(2e-6));
      tf.dispose([x, gamma]);
    }
  });

  withAddon('SwiGLU: values and gradients of the tfjs operations', async () => {
    const shape = [3, 5, 700];
    const size = 3 * 5 * 700;
    const gate = tf.tensor(seededArray(size, 5, 6), shape);
    const up = tf.tensor(seededArray(size, 6, 2), shape);
    const want = await valueAndGrads((g, u) => swiGluOps(g, u), [gate, up], 8);
    const got = await valueAndGrads((g, u) => swiGluOnWasm(g, u), [gate, up], 8);
    got.forEach((g, i) => expect(relativeDiff(g, want[i] as Float32Array), `output ${i}`).toBeLessThan(2e-6));
    tf.dispose([gate, up]);
  });

  withAddon('causal attention with RoPE and grouped heads: values and gradients of the tfjs operations', async () => {
    const cases = [
      { batch: 2, time: 37, heads: 4, kvHeads: 2, headDim: 16, freq: false },
      { batch: 1, time: 9, heads: 3, kvHeads: 3, headDim: 8, freq: true },
      { batch: 2, time: 64, heads: 2, kvHeads: 1, headDim: 64, freq: false },
    ];
    let seed = 30;
    for (const c of cases) {
      const q = tf.tensor3d(seededArray(c.batch * c.time * c.heads * c.headDim, seed++, 2), [c.batch, c.time, c.heads * c.headDim]);
      const kvShape: [number, number, number] = [c.batch, c.time, c.kvHeads * c.headDim];
      const k = tf.tensor3d(seededArray(kvShape[0] * kvShape[1] * kvShape[2], seed++, 2), kvShape);
      const v = tf.tensor3d(seededArray(kvShape[0] * kvShape[1] * kvShape[2], seed++, 1), kvShape);
      const freq = c.freq ? llama3FreqFactors(c.headDim, 500000, { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 4 }) : undefined;
      const settings = { numHeads: c.heads, numKvHeads: c.kvHeads, ropeTheta: 500000, ropeFreqFactors: freq === undefined ? undefined : Array.from(freq) };
      const want = await valueAndGrads((a, b, d) => causalAttentionOps(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D, settings), [q, k, v], seed);
      const shape = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, rope: ropeTableArrays(c.time, c.headDim, 500000, freq) };
      const got = await valueAndGrads((a, b, d) => causalAttentionOnWasm(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D, shape), [q, k, v], seed);
      got.forEach((g, i) => expect(relativeDiff(g, want[i] as Float32Array), `${JSON.stringify(c)} output ${i}`).toBeLessThan(1e-5));
      tf.dispose([q, k, v]);
    }
  });

  withAddon('leaves no tensors behind, with and without a gradient', async () => {
    const x = tf.tensor3d(seededArray(2 * 5 * 32, 1), [2, 5, 32]);
    const gamma = tf.ones([32]);
    const shape = { heads: 2, kvHeads: 1, headDim: 16, rope: ropeTableArrays(5, 16, 10000, undefined) };
    const kv = tf.tensor3d(seededArray(2 * 5 * 16, 2), [2, 5, 16]);
    const all = (a: tf.Tensor, g: tf.Tensor): tf.Tensor => {
      const n = rmsNormOnWasm(a, g, 1e-5);
      const att = causalAttentionOnWasm(n as tf.Tensor3D, kv, kv, shape);
      return swiGluOnWasm(fakeQuantRowsOnWasm(att, 8, 1e-5), n);
    };
    expect(await leakedTensors(() => tf.tidy(() => all(x, gamma)).dispose())).toBe(0);
    expect(await leakedTensors(() => tf.dispose(tf.grads((a: tf.Tensor, g: tf.Tensor) => tf.sum(all(a, g)))([x, gamma])))).toBe(0);
    tf.dispose([x, gamma, kv]);
  });

  withAddon('the native entry refuses arrays that do not match the shape', () => {
    const native = nativeTraining() as NonNullable<ReturnType<typeof nativeTraining>>;
    const x = new Float32Array(12);
    expect(() => native.train(0, [x, new Float32Array(11)], Int32Array.of(3, 4), Float64Array.of(-128, 127, 1e-5), 1)).toThrow(/lengths/);
    expect(() => native.train(0, [x, x], Int32Array.of(3, 4), Float64Array.of(1), 1)).toThrow(/number of arrays/);
    expect(() => native.train(99, [x, x], Int32Array.of(3, 4), Float64Array.of(1), 1)).toThrow(/unknown op/);
    // attention: 4 heads cannot share 3 key/value heads
    const a = new Float32Array(1);
    expect(() => native.train(6, [a, a, a, a, a, a, a], Int32Array.of(1, 1, 4, 3, 2), new Float64Array(0), 1)).toThrow(/lengths/);
  });
});
