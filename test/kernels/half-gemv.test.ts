import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../../src/util/half.js';
import { loadTier } from '../../src/kernels/registry.js';
import type { GemvHalfKernel } from '../../src/kernels/types.js';
import { SeededRandom } from '../../src/util/random.js';

/** Double-precision reference of W x with W given as half bits. */
function reference(w: Uint16Array, rows: number, cols: number, x: Float32Array): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[r] = (out[r] as number) + halfToFloat(w[r * cols + k] as number) * (x[k] as number);
  return out;
}

const tiers = (['native', 'reference'] as const).filter((t) => loadTier(t) !== null);

function run(kernel: GemvHalfKernel, w: Uint16Array, rows: number, cols: number, x: Float32Array, threads: number): Float32Array {
  const out = new Float32Array(rows);
  kernel(w, rows, cols, x, out, threads);
  return out;
}

describe.each(tiers)('F16 GEMV on the %s tier', (tierName) => {
  const gemvHalf = (w: Uint16Array, rows: number, cols: number, x: Float32Array, threads: number): Float32Array =>
    run(loadTier(tierName)?.gemvHalf as GemvHalfKernel, w, rows, cols, x, threads);
  it('agrees with a double-precision sum on odd shapes, subnormals, signed zeros and threads', () => {
    const rng = new SeededRandom(17);
    for (const [rows, cols] of [
      [1, 1],
      [3, 15],
      [7, 17],
      [33, 100],
      [130, 257],
      [300, 2560],
    ] as const) {
      const w = Uint16Array.from({ length: rows * cols }, (_, i) => (i % 97 === 0 ? rng.int(1024) | (rng.int(2) << 15) : floatToHalf(rng.normal() * 0.5)));
      const x = Float32Array.from({ length: cols }, () => rng.normal());
      const want = reference(w, rows, cols, x);
      let scale = 0;
      for (let r = 0; r < rows; r++)
        for (let k = 0; k < cols; k++) scale = Math.max(scale, Math.abs(halfToFloat(w[r * cols + k] as number) * (x[k] as number)));
      for (const threads of [1, 2, 3]) {
        const got = gemvHalf(w, rows, cols, x, threads);
        expect(got.length).toBe(rows);
        for (let r = 0; r < rows; r++)
          expect(Math.abs((got[r] as number) - (want[r] as number)), `row ${r} of ${rows}x${cols}`).toBeLessThanOrEqual(scale * cols * 2 ** -22);
      }
    }
  });

  it('is exact where float32 is: small integers', () => {
    const rows = 5;
    const cols = 40;
    const w = Uint16Array.from({ length: rows * cols }, (_, i) => floatToHalf((i % 7) - 3));
    const x = Float32Array.from({ length: cols }, (_, k) => (k % 5) - 2);
    const got = gemvHalf(w, rows, cols, x, 1);
    const want = reference(w, rows, cols, x);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
