import { describe, expect, it } from 'vitest';
import { quantizeActivations } from '../../src/quant/activation.js';
import { expectBitNetError } from '../helpers/errors.js';
import { maxRelativeDiff, readGolden } from '../helpers/golden.js';

interface ActGolden {
  name: string;
  shape: number[];
  scope: 'token' | 'tensor';
  bits: number;
  data: number[];
  values: number[];
  s: number[];
  dequantized: number[];
}

const golden = readGolden<{ activations: ActGolden[] }>('quant.json');
const f32 = Math.fround;

describe('quantizeActivations: worked examples', () => {
  it('per token: s = 127 / absmax, q = round_half_even(x * s)', () => {
    const q = quantizeActivations(new Float32Array([1, -2, 0.5, 4]), [4]);
    // s = 127 / 4 = 31.75; -2 * 31.75 = -63.5 -> -64 (ties to even; Math.round gives -63)
    expect(q.quantScales[0]).toBe(31.75);
    expect(q.scales[0]).toBe(f32(1 / 31.75));
    expect([...q.values]).toEqual([32, -64, 16, 127]);
    expect([...q.dequantize()]).toEqual([32 / 31.75, -64 / 31.75, 16 / 31.75, 4].map(f32));
  });

  it('ties at ±0.5, ±1.5, ±2.5 after scaling go to the even neighbour', () => {
    const q = quantizeActivations(new Float32Array([127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, -127]), [1, 8]);
    expect(q.quantScales[0]).toBe(1);
    expect([...q.values].map((v) => v + 0)).toEqual([127, 0, 0, 2, -2, 2, -2, -127]);
  });

  it('one scale per token for 2-D and 3-D inputs; one per tensor on request', () => {
    const x = new Float32Array([1, 2, -4, 8, 0.5, -0.25]);
    const perToken = quantizeActivations(x, [3, 2]);
    expect([...perToken.quantScales]).toEqual([127 / 2, 127 / 8, 127 / 0.5].map(f32));
    expect([...perToken.values]).toEqual([64, 127, -64, 127, 127, -64]);
    const rank3 = quantizeActivations(x, [1, 3, 2]);
    expect(rank3.values).toEqual(perToken.values);
    const perTensor = quantizeActivations(x, [3, 2], { scope: 'tensor' });
    expect(perTensor.quantScales.length).toBe(1);
    expect([...perTensor.values]).toEqual([16, 32, -64, 127, 8, -4]);
  });

  it('4-bit activations use [-8, 7]', () => {
    const q = quantizeActivations(new Float32Array([7, 1, -3.5, -7]), [4], { bits: 4 });
    expect(q.quantScales[0]).toBe(1);
    expect([...q.values]).toEqual([7, 1, -4, -7]);
  });

  it('all-zero tokens take the eps scale and give zeros, no NaN', () => {
    const q = quantizeActivations(new Float32Array(6), [2, 3]);
    expect([...q.quantScales]).toEqual([f32(127 / f32(1e-5)), f32(127 / f32(1e-5))]);
    expect([...q.values].every((v) => v === 0)).toBe(true);
    expect([...q.dequantize()].every((v) => v === 0 && !Number.isNaN(v))).toBe(true);
  });
});

describe('quantizeActivations: PyTorch reference fixtures', () => {
  for (const c of golden.activations) {
    it(c.name, () => {
      const q = quantizeActivations(new Float32Array(c.data), c.shape, { scope: c.scope, bits: c.bits });
      expect([...q.values]).toEqual(c.values);
      expect([...q.quantScales]).toEqual(c.s.map(f32));
      expect(
        maxRelativeDiff(
          q.scales,
          c.s.map((s) => 1 / s),
        ),
      ).toBeLessThanOrEqual(1e-7);
      expect([...q.dequantize()].map((v) => v + 0)).toEqual(c.dequantized.map((v) => f32(v) + 0));
    });
  }

  it('covers 1-D, 2-D and 3-D inputs', () => {
    expect(new Set(golden.activations.map((c) => c.shape.length))).toEqual(new Set([1, 2, 3]));
  });
});

describe('quantizeActivations: invalid input', () => {
  const x = new Float32Array([1, 2, 3, 4]);
  it('rejects bad bit widths', () => {
    expectBitNetError(() => quantizeActivations(x, [4], { bits: 1 }), 'INVALID_CONFIG', 'bits');
    expectBitNetError(() => quantizeActivations(x, [4], { bits: 9 }), 'INVALID_CONFIG', 'bits');
    expectBitNetError(() => quantizeActivations(x, [4], { bits: 3.5 }), 'INVALID_CONFIG', 'bits');
  });
  it('rejects shapes that do not match the data', () => {
    expectBitNetError(() => quantizeActivations(x, [3]), 'INVALID_SHAPE', 'data');
    expectBitNetError(() => quantizeActivations(x, []), 'INVALID_SHAPE', 'shape');
    expectBitNetError(() => quantizeActivations(x, [2, -2]), 'INVALID_SHAPE', 'shape[1]');
  });
  it('rejects NaN and Infinity', () => {
    expectBitNetError(() => quantizeActivations(new Float32Array([1, NaN]), [2]), 'INVALID_DATA', 'data[1]');
    expectBitNetError(() => quantizeActivations(new Float32Array([Infinity, 1]), [2]), 'INVALID_DATA', 'data[0]');
  });
  it('rejects an unknown scope and a bad eps', () => {
    expectBitNetError(() => quantizeActivations(x, [4], { scope: 'channel' as 'token' }), 'INVALID_CONFIG', 'scope');
    expectBitNetError(() => quantizeActivations(x, [4], { eps: -1 }), 'INVALID_CONFIG', 'eps');
  });
});
