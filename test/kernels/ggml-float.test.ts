// ggml's float arithmetic in TypeScript (src/kernels/ggml-float.ts). Bit-exactness against ggml
// itself is test/interop/ggml-numerics.test.ts; here: the fused multiply-add's single rounding at the
// cases a double sum gets wrong, and the vector expf's accuracy (measured: at most 2.15 ulps over
// [-87, 88], the worst near 40 on the AVX-512 path).
import { describe, expect, it } from 'vitest';
import { expfAvx2, expfAvx512, fmaf, siluf } from '../../src/kernels/ggml-float.js';

const f32 = Math.fround;

function ulpOf(v: number): number {
  const a = Math.abs(f32(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

describe('ggml float arithmetic', () => {
  it('fmaf rounds a * b + c once: halfway cases that rounding through double would get wrong', () => {
    const a = 1 + 2 ** -12;
    // a * a = 1 + 2^-11 + 2^-24: exactly halfway between the floats 1 + 2^-11 and 1 + 2^-11 + 2^-23
    expect(fmaf(a, a, 0)).toBe(1 + 2 ** -11); // a tie: to even
    expect(fmaf(a, a, 2 ** -60)).toBe(1 + 2 ** -11 + 2 ** -23); // above the tie, though p + c rounds to it in double
    expect(fmaf(a, a, -(2 ** -60))).toBe(1 + 2 ** -11);
    expect(fmaf(-a, a, -(2 ** -60))).toBe(-(1 + 2 ** -11 + 2 ** -23));
    // no tie: the plain sum
    expect(fmaf(3, 0.5, 0.25)).toBe(1.75);
    expect(fmaf(f32(0.1), f32(0.2), f32(0.3))).toBe(f32(f32(0.1) * f32(0.2) + f32(0.3)));
    expect(fmaf(1e30, 1e30, 1)).toBe(Infinity);
  });

  it('both vector expf stay within 2.5 ulps of exp, flush past their range, and keep exp(0) = 1', () => {
    for (const expf of [expfAvx512, expfAvx2]) {
      let worst = 0;
      for (let x = -87; x <= 88; x += 0.0137) {
        const v = f32(x);
        worst = Math.max(worst, Math.abs(expf(v) - Math.exp(v)) / ulpOf(Math.max(expf(v), Math.exp(v))));
      }
      expect(worst).toBeLessThan(2.5);
      expect(worst).toBeGreaterThan(0.5); // an approximation, not a correctly rounded exp
      expect(expf(0)).toBe(1);
      expect(expf(-200)).toBe(0);
      expect(expf(200)).toBe(Infinity);
      expect(expf(-Infinity)).toBe(0);
    }
    // the two paths round differently somewhere: llama.cpp's results depend on the CPU it runs on
    let differ = 0;
    for (let x = -20; x <= 20; x += 0.001) if (expfAvx512(f32(x)) !== expfAvx2(f32(x))) differ++;
    expect(differ).toBeGreaterThan(0);
  });

  it('silu is x / (1 + expf(-x)) in float', () => {
    for (const x of [-30, -3.5, -0.25, 0, 0.7, 4, 50].map(f32)) {
      expect(siluf(x, 'avx512')).toBe(f32(x / f32(1 + expfAvx512(-x))));
      expect(Math.abs(siluf(x, 'avx2') - x / (1 + Math.exp(-x)))).toBeLessThan(1e-6 * (1 + Math.abs(x)));
    }
  });
});
