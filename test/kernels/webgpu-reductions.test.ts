// Issue #16: whole-tensor sums (|x| for BitLinear's absmean, x² for the clip norm) and sums over
// rows (RMSNorm's gain gradient) in two WGSL stages on tfjs-webgpu. Checked against sums in double
// precision on the host, for sizes below one workgroup, between, and above 1,024 partials.
import { describe, expect, it } from 'vitest';
import { reduceRows, sumAll, sumOfSquares, sumRows } from '../../src/kernels/webgpu/reductions.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('webgpu reductions');

describe.runIf(available)('two-stage reductions on webgpu', () => {
  for (const n of [1, 100, 257, 70_001, 2_500_000]) {
    it(`sum of |x| and of x² over ${n} values, scaled, equals the double-precision sum`, async () => {
      await useBackend('webgpu');
      const values = seededArray(n, n, 3);
      const before = tf.memory().numTensors;
      const x = tf.tensor1d(values);
      const abs = sumAll(x, 'abs', 1 / n);
      const sq = sumAll(x, 'square', 1);
      expect(abs.shape).toEqual([]);
      const [a, s] = [(await abs.data())[0] as number, (await sq.data())[0] as number];
      tf.dispose([x, abs, sq]);
      expect(tf.memory().numTensors).toBe(before);
      let wantAbs = 0;
      let wantSq = 0;
      for (const v of values) {
        wantAbs += Math.abs(v);
        wantSq += v * v;
      }
      expect(Math.abs(a - wantAbs / n)).toBeLessThanOrEqual(1e-6 * (wantAbs / n));
      expect(Math.abs(s - wantSq)).toBeLessThanOrEqual(1e-6 * wantSq);
    });
  }

  for (const [rows, cols] of [
    [1, 5],
    [63, 100],
    [300, 48],
    [4100, 70],
    [70_000, 3],
  ] as const) {
    it(`sums over the rows of [${rows}, ${cols}] equal the double-precision column sums`, async () => {
      await useBackend('webgpu');
      const values = seededArray(rows * cols, rows + cols, 2);
      const before = tf.memory().numTensors;
      const x = tf.tensor2d(values, [rows, cols]);
      const y = sumRows({ X: x }, 'x');
      const got = (await y.data()) as Float32Array;
      tf.dispose([x, y]);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(cols);
      for (let c = 0; c < cols; c++) {
        let want = 0;
        let mag = 0;
        for (let r = 0; r < rows; r++) {
          want += values[r * cols + c] as number;
          mag += Math.abs(values[r * cols + c] as number);
        }
        expect(Math.abs((got[c] as number) - want)).toBeLessThanOrEqual(1e-6 * mag);
      }
    });
  }
});

describe.runIf(available)('row reductions on webgpu', () => {
  // 70,000 rows: more workgroups than one dispatch dimension holds (65,535), folded into two
  for (const [rows, cols] of [
    [3, 1],
    [5, 300],
    [2, 2048],
    [70_000, 3],
  ] as const) {
    it(`[${rows}, ${cols}]: max |x| per row, and the mean of g·x·y per row with a gain vector g`, async () => {
      await useBackend('webgpu');
      const xv = seededArray(rows * cols, rows + 7 * cols, 2);
      const yv = seededArray(rows * cols, rows + 9 * cols, 1);
      const gv = seededArray(cols, cols, 1);
      const before = tf.memory().numTensors;
      const x = tf.tensor2d(xv, [rows, cols]);
      const y = tf.tensor2d(yv, [rows, cols]);
      const g = tf.tensor1d(gv);
      const absmax = reduceRows({ X: x }, 'abs(x)', 'max');
      const mean = reduceRows({ X: x, Y: y, G: g }, 'g * x * y', 'sum', 1 / cols);
      expect(absmax.shape).toEqual([rows, 1]);
      const [am, mv] = [(await absmax.data()) as Float32Array, (await mean.data()) as Float32Array];
      tf.dispose([x, y, g, absmax, mean]);
      expect(tf.memory().numTensors).toBe(before);
      for (let r = 0; r < rows; r++) {
        let max = 0;
        let sum = 0;
        let mag = 0;
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          max = Math.max(max, Math.abs(xv[i] as number));
          const term = (gv[c] as number) * (xv[i] as number) * (yv[i] as number);
          sum += term;
          mag += Math.abs(term);
        }
        expect(am[r]).toBe(Math.fround(max));
        expect(Math.abs((mv[r] as number) - sum / cols)).toBeLessThanOrEqual((2e-6 * mag) / cols + 1e-30);
      }
    });
  }
});

describe.runIf(available)('the squared global norm of many tensors on webgpu', () => {
  // 20 tensors: three groups of partial sums (seven inputs a dispatch), then their sum
  it('equals the double-precision sum of squares over every element of every tensor', async () => {
    await useBackend('webgpu');
    const sizes = [1, 3, 300_000, 64, 70_001, 2, 5, 4096, 1, 1, 9, 100_000, 7, 8, 513, 1, 2048, 33, 3, 65_536];
    const arrays = sizes.map((n, i) => seededArray(n, 100 + i, 1 + (i % 3)));
    const before = tf.memory().numTensors;
    const tensors = arrays.map((a) => tf.tensor1d(a));
    const total = sumOfSquares(tensors);
    expect(total.shape).toEqual([]);
    const got = (await total.data())[0] as number;
    tf.dispose([...tensors, total]);
    expect(tf.memory().numTensors).toBe(before);
    const want = arrays.reduce((s, a) => s + a.reduce((t, v) => t + v * v, 0), 0);
    expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * want);
  });
});
