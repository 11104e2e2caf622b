// Issue #16: BitLinear's training products on tfjs-webgpu run as a 128 x 128-tile WGSL matmul that
// reads transposed operands in place. Checked against a float64 product on the host, for shapes
// that are not multiples of the tiles and for every transpose combination.
import { describe, expect, it } from 'vitest';
import { tiledMatMul } from '../../src/kernels/webgpu/tiled-matmul.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('webgpu tiled matmul');

const SHAPES = [
  [1, 1, 1],
  [5, 7, 3],
  [130, 70, 257],
  [256, 512, 128],
  // multiples of 4: the vec4 path (partial tiles along every side, and K not a multiple of 16)
  [132, 36, 260],
  [4, 20, 8],
] as const;

describe.runIf(available)('tiled matmul on webgpu', () => {
  for (const [m, k, n] of SHAPES) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`[${m}, ${k}] x [${k}, ${n}]${ta ? ', A transposed' : ''}${tb ? ', B transposed' : ''}: the float64 product within rounding`, async () => {
        await useBackend('webgpu');
        const av = seededArray(m * k, m + 3 * k, 1);
        const bv = seededArray(k * n, n + 5 * k, 1);
        const before = tf.memory().numTensors;
        const a = tf.tensor2d(av, ta ? [k, m] : [m, k]);
        const b = tf.tensor2d(bv, tb ? [n, k] : [k, n]);
        const c = tiledMatMul(a, b, ta, tb);
        expect(c.shape).toEqual([m, n]);
        const got = (await c.data()) as Float32Array;
        tf.dispose([a, b, c]);
        expect(tf.memory().numTensors).toBe(before);
        const A = (i: number, p: number): number => av[ta ? p * m + i : i * k + p] as number;
        const B = (p: number, j: number): number => bv[tb ? j * k + p : p * n + j] as number;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let want = 0;
            let mag = 0;
            for (let p = 0; p < k; p++) {
              want += A(i, p) * B(p, j);
              mag += Math.abs(A(i, p) * B(p, j));
            }
            const err = Math.abs((got[i * n + j] as number) - want);
            if (err > 1e-6 * mag + 1e-30) expect.fail(`C[${i}, ${j}] = ${got[i * n + j]}, want ${want}`);
          }
        }
      });
    }
  }
});
