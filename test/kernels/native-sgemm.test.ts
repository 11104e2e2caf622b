// The native float32 GEMM (src/kernels/native/sgemm.c) that serves tfjs-wasm's BatchMatMul in
// training, against a float64 product written out here: every transpose combination, batches with
// a broadcast operand, shapes off the micro-kernels' 12 x 32 / 6 x 16 / 4 x 8 tiles and K beyond
// one K block (384). CI runs this file once per instruction set the CPU has (BITNET_NATIVE_ISA).
import { describe, expect, it } from 'vitest';
import { loadNativeTier, nativeSgemm } from '../../src/kernels/native/tier.js';
import { seededArray } from '../helpers/tf.js';

function product(
  a: Float32Array,
  b: Float32Array,
  s: { batch: number; batchA: number; batchB: number; m: number; n: number; k: number; ta: boolean; tb: boolean },
): Float64Array {
  const { batch, batchA, batchB, m, n, k, ta, tb } = s;
  const c = new Float64Array(batch * m * n);
  for (let q = 0; q < batch; q++) {
    const ao = batchA === 1 ? 0 : q * m * k;
    const bo = batchB === 1 ? 0 : q * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += (a[ao + (ta ? p * m + i : i * k + p)] as number) * (b[bo + (tb ? j * k + p : p * n + j)] as number);
        c[q * m * n + i * n + j] = sum;
      }
  }
  return c;
}

const native = loadNativeTier() === null ? undefined : nativeSgemm();

/** Cases that exist only with the addon (the first test asserts its absence otherwise: nothing is skipped). */
const withAddon = (name: string, fn: () => unknown): void => {
  if (native !== undefined) it(name, fn);
};

describe('native float32 GEMM', () => {
  it('is there exactly when the native tier is', () => {
    expect(native !== undefined).toBe(loadNativeTier() !== null);
    if (native !== undefined) expect(['avx512', 'avx2', 'scalar']).toContain(native.path);
  });

  withAddon('equals the float64 product for every transpose, batch broadcast and edge tile', () => {
    const { sgemm } = native as NonNullable<typeof native>;
    const shapes = [
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 13, 33, 7],
      [3, 3, 1, 25, 40, 400],
      [2, 1, 2, 12, 32, 384],
      [4, 4, 4, 7, 5, 800],
      [1, 1, 1, 100, 257, 256],
    ] as const;
    let seed = 1;
    for (const [batch, batchA, batchB, m, n, k] of shapes)
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const a = seededArray(batchA * m * k, seed++);
          const b = seededArray(batchB * k * n, seed++);
          const c = new Float32Array(batch * m * n).fill(Number.NaN);
          sgemm(a, b, c, batch, batchA, batchB, m, n, k, ta ? 1 : 0, tb ? 1 : 0, 2);
          const want = product(a, b, { batch, batchA, batchB, m, n, k, ta, tb });
          // float32 sums of k terms of size <= 1: within k * 2^-24 of the exact sum, loosely
          let worst = 0;
          c.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (want[i] as number)))));
          expect(worst, `${batch}x[${m}x${k}]·[${k}x${n}] ta=${ta} tb=${tb}`).toBeLessThan(k * 2 ** -22);
        }
  });

  withAddon('refuses arrays that do not match the shape', () => {
    const { sgemm } = native as NonNullable<typeof native>;
    expect(() => sgemm(new Float32Array(6), new Float32Array(6), new Float32Array(5), 1, 1, 1, 2, 2, 3, 0, 0, 1)).toThrow(/lengths/);
    expect(() => sgemm(new Float32Array(6), new Float32Array(6), new Float32Array(8), 2, 3, 1, 2, 2, 3, 0, 0, 1)).toThrow(/batchA/);
  });
});
