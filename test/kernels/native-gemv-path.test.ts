import { afterAll, describe, expect, it } from 'vitest';
import { loadNativeTier, nativeGemvPath } from '../../src/kernels/native/tier.js';
import { referenceGemm } from '../../src/kernels/reference.js';
import type { TernaryGemmKernel } from '../../src/kernels/types.js';
import { packTernary2, paddedRowLength } from '../../src/quant/pack.js';
import { SeededRandom } from '../../src/util/random.js';

const native = loadNativeTier();

/** Tests that need the native addon are registered only where it is built (the WebAssembly-tier CI run has none). */
const withNative = (name: string, fn: () => void): void => {
  if (native !== null) it(name, fn);
};
const gemmOf = (): TernaryGemmKernel => (native as NonNullable<typeof native>).ternary as TernaryGemmKernel;

describe('native GEMV: the stream and the tile (AVX-512 VNNI picks by working set; other paths have one GEMV)', () => {
  afterAll(() => nativeGemvPath(0));

  it('can be chosen exactly when the native tier loads', () => {
    expect(nativeGemvPath() === undefined).toBe(native === null);
  });

  for (const [choice, name] of [
    [1, 'stream'],
    [2, 'tile'],
  ] as const) {
    withNative(`forced to the ${name}: the reference's sums, rows not a multiple of 16 or of 8 row groups, one group and several, 1 and 3 threads`, () => {
      nativeGemvPath(choice);
      const rng = new SeededRandom(choice);
      for (const [rows, cols, groupCols] of [
        [200, 512, 512],
        [37, 1024, 256],
        [144, 768, 32],
      ] as const) {
        const paddedCols = paddedRowLength(cols);
        const codes = packTernary2(
          Int8Array.from({ length: rows * cols }, () => rng.int(3) - 1),
          [rows, cols],
        );
        const x = Int8Array.from({ length: paddedCols }, () => rng.int(256) - 128);
        const groups = paddedCols / groupCols;
        const want = new Int32Array(rows * groups);
        referenceGemm(codes, { rows, paddedCols, x, batch: 1, groupCols, out: want });
        const gemm = gemmOf();
        const uploaded = gemm.upload(codes, rows, paddedCols);
        for (const threads of [1, 3]) {
          const out = new Int32Array(rows * groups).fill(-7);
          gemm.gemm(uploaded, { rows, paddedCols, x, batch: 1, groupCols, out, threads });
          expect(Array.from(out), `${rows}x${cols}, groups of ${groupCols}, ${threads} threads`).toEqual(Array.from(want));
        }
      }
    });
  }

  withNative(
    'chooses the stream once the uploaded weights pass 64 MiB (a decoder reads them from DRAM), the tile below (the choice the VNNI path follows)',
    () => {
      nativeGemvPath(0);
      const before = nativeGemvPath();
      const rows = 16 * 4200;
      const cols = 4096;
      const big = new Uint8Array((rows * cols) / 4).fill(0x55); // 68.8 MB of zero weights
      const uploaded = gemmOf().uploadCodes?.({ bytes: big, layout: 'rows' }, rows, cols);
      expect(nativeGemvPath()).toBe('stream');
      expect(before).toBe('tile');
      expect(uploaded?.codes.byteLength).toBe(big.byteLength);
    },
  );
});
