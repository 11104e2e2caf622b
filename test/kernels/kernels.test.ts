import { describe, expect, it } from 'vitest';
import { loadNativeTier } from '../../src/kernels/native/tier.js';
import { referenceGemm } from '../../src/kernels/reference.js';
import { kernelReport, resolveKernels } from '../../src/kernels/registry.js';
import type { KernelTier, TernaryGemmKernel } from '../../src/kernels/types.js';
import { loadWasmTier } from '../../src/kernels/wasm/tier.js';
import { packTernary2, paddedRowLength } from '../../src/quant/pack.js';
import { SeededRandom } from '../../src/util/random.js';
import { expectBitNetError } from '../helpers/errors.js';

const native = loadNativeTier();
const wasm = loadWasmTier();
const expected = process.env.BITNET_KERNEL_EXPECT;
const expectedIsa = process.env.BITNET_NATIVE_ISA_EXPECT;

const gemmOf = (tier: KernelTier): TernaryGemmKernel => tier.ternary as TernaryGemmKernel;

/** The tiers built here (CI without a compiler has no native tier; it must then say so). */
const tiers: KernelTier[] = [native, wasm].filter((t): t is NonNullable<typeof t> => t !== null);

function problem(rng: SeededRandom, rows: number, cols: number, batch: number, xKind: 'random' | 'zero' | 'extreme') {
  const paddedCols = paddedRowLength(cols);
  const q = Int8Array.from({ length: rows * cols }, () => rng.int(3) - 1);
  const codes = packTernary2(q, [rows, cols]);
  const x = new Int8Array(batch * paddedCols);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < cols; k++) {
      x[b * paddedCols + k] = xKind === 'zero' ? 0 : xKind === 'extreme' ? (rng.int(2) === 0 ? -128 : 127) : rng.int(256) - 128;
    }
  }
  return { codes, paddedCols, x };
}

describe('kernel tiers', () => {
  it('the tier and native ISA the environment expects are the ones that run', async () => {
    if (expected !== undefined) expect(resolveKernels().tier).toBe(expected);
    if (expectedIsa !== undefined) expect(native?.detail).toBe(expectedIsa);
    expect(wasm).not.toBeNull();
    const report = await kernelReport();
    expect(report.find((r) => r.name === 'reference')?.capabilities).toEqual(['ternary', 'gemvHalf', 'ggmlGemvHalf', 'attention', 'siluGlu']);
    console.log(`kernel tiers here: ${report.map((r) => `${r.name}=${r.available ? r.detail : 'unavailable'}`).join(', ')}`);
  });

  it('naming an unknown or missing tier is an error', () => {
    expectBitNetError(() => resolveKernels('gpu' as 'wasm'), 'INVALID_ARGUMENT', 'kernel');
    if (native === null) expectBitNetError(() => resolveKernels('native'), 'BACKEND_UNAVAILABLE', 'kernel');
  });

  for (const tier of tiers) {
    describe(`${tier.name} (${tier.detail}) equals the TypeScript oracle exactly`, () => {
      it('fuzzed shapes: columns not multiples of 64/128/256, batch 1..33, every group size', () => {
        const rng = new SeededRandom(tier.name.length * 7919);
        for (let trial = 0; trial < 40; trial++) {
          const rows = 1 + rng.int(trial % 2 === 0 ? 70 : 300);
          const cols = 1 + rng.int(1100);
          const batch = 1 + rng.int(33);
          const { codes, paddedCols, x } = problem(rng, rows, cols, batch, trial % 10 === 0 ? 'extreme' : 'random');
          const groupChoices = [paddedCols, 32, 64, 128, 256].filter((g) => paddedCols % g === 0);
          const groupCols = groupChoices[rng.int(groupChoices.length)] as number;
          const size = batch * rows * (paddedCols / groupCols);
          const want = new Int32Array(size);
          const got = new Int32Array(size).fill(12345);
          referenceGemm(codes, { rows, paddedCols, x, batch, groupCols, out: want });
          const uploaded = gemmOf(tier).upload(codes, rows, paddedCols);
          gemmOf(tier).gemm(uploaded, { rows, paddedCols, x, batch, groupCols, out: got, threads: 1 + rng.int(3) });
          gemmOf(tier).release(uploaded);
          expect(got, `rows ${rows} cols ${cols} batch ${batch} groups of ${groupCols}`).toEqual(want);
        }
      });

      it('all-zero and extreme activations', () => {
        const rng = new SeededRandom(5);
        for (const kind of ['zero', 'extreme'] as const) {
          const { codes, paddedCols, x } = problem(rng, 9, 777, 5, kind);
          const want = new Int32Array(5 * 9);
          const got = new Int32Array(5 * 9);
          referenceGemm(codes, { rows: 9, paddedCols, x, batch: 5, groupCols: paddedCols, out: want });
          gemmOf(tier).gemm(gemmOf(tier).upload(codes, 9, paddedCols), { rows: 9, paddedCols, x, batch: 5, groupCols: paddedCols, out: got });
          expect(got).toEqual(want);
          if (kind === 'zero') expect(got.every((v) => v === 0)).toBe(true);
        }
        // every weight -1 against -128: the largest magnitude a row of 4096 can reach
        const q = new Int8Array(4096).fill(-1);
        const x = new Int8Array(4096).fill(-128);
        const out = new Int32Array(1);
        gemmOf(tier).gemm(gemmOf(tier).upload(packTernary2(q, [1, 4096]), 1, 4096), { rows: 1, paddedCols: 4096, x, batch: 1, groupCols: 4096, out });
        expect(out[0]).toBe(4096 * 128);
      });
    });
  }

  it('native threads split rows and agree with one thread', () => {
    if (native === null) return;
    const rng = new SeededRandom(9);
    const { codes, paddedCols, x } = problem(rng, 301, 1024, 3, 'random');
    const one = new Int32Array(3 * 301);
    const many = new Int32Array(3 * 301);
    const up = gemmOf(native).upload(codes, 301, paddedCols);
    gemmOf(native).gemm(up, { rows: 301, paddedCols, x, batch: 3, groupCols: paddedCols, out: one, threads: 1 });
    for (const threads of [2, 3, 8]) {
      gemmOf(native).gemm(up, { rows: 301, paddedCols, x, batch: 3, groupCols: paddedCols, out: many, threads });
      expect(many).toEqual(one);
    }
  });
});
