// Training on tfjs-wasm with the native addon: BatchMatMul goes to the native float32 GEMM and
// AdamW to one native pass per parameter. Each is checked against tfjs-wasm's own path in the same
// process (the `unfused` setting switches the native one off): products of every transpose and a
// broadcast batch, and three AdamW steps with weight decay and a clip scale.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeTier } from '../../src/kernels/native/tier.js';
import { nativeAdamWOnWasm } from '../../src/kernels/native/wasm-adamw.js';
import { nativeMatMulOnWasm, wasmMatMulPath } from '../../src/kernels/native/wasm-matmul.js';
import { configure } from '../../src/settings.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';

const hasAddon = loadNativeTier() !== null;

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (b[i] as number)))));
  return worst;
}

/** Cases that exist only with the addon (the first test asserts its absence otherwise: nothing is skipped). */
const withAddon = (name: string, fn: () => unknown): void => {
  if (hasAddon) it(name, fn);
};

describe('tfjs-wasm with the native kernels', () => {
  beforeAll(async () => useBackend('wasm'));
  afterAll(() => configure({ unfused: [] }));

  it('uses them exactly when the addon is built', () => {
    configure({ unfused: [] });
    expect(nativeMatMulOnWasm()).toBe(hasAddon);
    expect(nativeAdamWOnWasm()).toBe(hasAddon);
    expect(wasmMatMulPath() !== undefined).toBe(hasAddon);
    configure({ unfused: ['matmul', 'adamw'] });
    expect(nativeMatMulOnWasm()).toBe(false);
    expect(nativeAdamWOnWasm()).toBe(false);
  });

  withAddon('BatchMatMul gives tfjs-wasm products, also transposed and batched, and leaks nothing', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[64, 48], [48, 40], false, false],
      [[48, 64], [48, 40], true, false],
      [[64, 48], [40, 48], false, true],
      [[48, 64], [40, 48], true, true],
      [[3, 20, 30], [3, 30, 50], false, false],
      [[3, 20, 30], [30, 50], false, false],
      [[2, 3, 16, 8], [2, 3, 16, 8], false, true],
      [[1, 20, 30], [4, 30, 10], false, false],
    ];
    let seed = 11;
    for (const [sa, sb, ta, tb] of cases) {
      const a = tf.tensor(seededArray(tf.util.sizeFromShape(sa), seed++), sa);
      const b = tf.tensor(seededArray(tf.util.sizeFromShape(sb), seed++), sb);
      const run = async (unfused: 'matmul'[]): Promise<Float32Array> => {
        configure({ unfused });
        const before = tf.memory().numTensors;
        const c = tf.matMul(a, b, ta, tb);
        const out = (await c.data()) as Float32Array;
        c.dispose();
        expect(tf.memory().numTensors).toBe(before);
        return out;
      };
      const native = await run([]);
      const wasm = await run(['matmul']);
      expect(native.length).toBe(wasm.length);
      expect(maxDiff(native, wasm), `${JSON.stringify(sa)}·${JSON.stringify(sb)} ta=${ta} tb=${tb}`).toBeLessThan(1e-5);
      tf.dispose([a, b]);
    }
  });

  withAddon('AdamW steps equal the tfjs-operations path', async () => {
    const shapes = [[24, 16], [16]];
    const train = async (unfused: 'adamw'[]): Promise<Float32Array[]> => {
      configure({ unfused });
      const params = shapes.map((s, i) => ({ key: `p${i}`, variable: tf.variable(tf.tensor(seededArray(tf.util.sizeFromShape(s), 40 + i, 0.1), s)) }));
      const optimizer = new Optimizer({ type: 'adamw', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0.1, weightDecayOffAt: 1 });
      const before = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) {
        const grads = new Map(params.map((p, i) => [p.key, tf.tensor(seededArray(p.variable.size, 100 * step + i, 0.01 * (step + 1)), p.variable.shape)]));
        const scale = tf.scalar(0.5);
        optimizer.step(params, grads, 3e-3, 0.1, scale);
        tf.dispose([...grads.values(), scale]);
      }
      // the two moments of each parameter are the optimizer's state
      expect(tf.memory().numTensors).toBe(before + 2 * params.length);
      const out = await Promise.all(params.map(async (p) => (await p.variable.data()) as Float32Array));
      optimizer.dispose();
      params.forEach((p) => p.variable.dispose());
      return out;
    };
    const native = await train([]);
    const ops = await train(['adamw']);
    native.forEach((w, i) => {
      const o = ops[i] as Float32Array;
      expect(maxDiff(w, o), `p${i}`).toBeLessThan(1e-7);
      // the update moved the weights: the comparison is not of two unchanged copies
      expect(maxDiff(w, seededArray(w.length, 40 + i, 0.1))).toBeGreaterThan(1e-3);
    });
  });
});
