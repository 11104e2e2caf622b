import { describe, expect, it } from 'vitest';
import { quantizeWeights } from '../../src/quant/weight.js';
import { expectBitNetError } from '../helpers/errors.js';
import { maxRelativeDiff, readGolden } from '../helpers/golden.js';

interface WeightGolden {
  name: string;
  shape: [number, number];
  groupSize: number | 'tensor';
  data: number[];
  values: number[];
  beta: number[];
  dequantized: number[];
}

const golden = readGolden<{ weights: WeightGolden[] }>('quant.json');
const f32 = Math.fround;

describe('quantizeWeights: worked examples', () => {
  const w = new Float32Array([0.5, -1.0, 0.0, 2.0, 0.25, -0.25, 1.5, -0.5]);

  it('per tensor: beta = mean|W| = 6/8, q = clamp(round(W / beta))', () => {
    const q = quantizeWeights(w, [2, 4]);
    expect(q.scales).toEqual(new Float32Array([0.75]));
    expect([...q.values]).toEqual([1, -1, 0, 1, 0, 0, 1, -1]);
    expect([...q.dequantize()]).toEqual([0.75, -0.75, 0, 0.75, 0, 0, 0.75, -0.75]);
    expect(q.sparsity).toBe(3 / 8);
    expect(q.shape).toEqual([2, 4]);
    expect(q.groupSize).toBe('tensor');
  });

  it('per group of 2: one beta per pair of each row', () => {
    const q = quantizeWeights(w, [2, 4], { groupSize: 2 });
    expect([...q.scales]).toEqual([0.75, 1, 0.25, 1]);
    // row 1, group 2: 1.5 / 1 = 1.5 -> 2 (half to even) -> clamp 1; -0.5 -> -0 (half to even)
    expect([...q.values]).toEqual([1, -1, 0, 1, 1, -1, 1, 0]);
    expect([...q.dequantize()]).toEqual([0.75, -0.75, 0, 1, 0.25, -0.25, 1, 0]);
  });

  it('rounds ties to even like torch.round (0.5 -> 0, -0.5 -> 0)', () => {
    // mean|W| = 1, so W / beta = W exactly
    const q = quantizeWeights(new Float32Array([0.5, -0.5, 1.5, -1.5]), [1, 4]);
    expect(q.scales[0]).toBe(1);
    expect([...q.values].map((v) => v + 0)).toEqual([0, 0, 1, -1]);
  });

  it('all-zero weights: beta falls back to eps, no NaN', () => {
    const q = quantizeWeights(new Float32Array(12), [3, 4]);
    expect(q.scales[0]).toBe(f32(1e-5));
    expect([...q.values].every((v) => v === 0)).toBe(true);
    expect([...q.dequantize()].every((v) => v === 0)).toBe(true);
    const g = quantizeWeights(new Float32Array(12), [3, 4], { groupSize: 2 });
    expect([...g.scales]).toEqual(new Array(6).fill(f32(1e-5)));
  });

  it('a custom eps is the floor of beta', () => {
    const q = quantizeWeights(new Float32Array([1e-4, -1e-4]), [1, 2], { eps: 0.01 });
    expect(q.scales[0]).toBe(f32(0.01));
    expect([...q.values]).toEqual([0, 0]);
  });
});

describe('quantizeWeights: PyTorch reference fixtures', () => {
  for (const c of golden.weights) {
    it(c.name, () => {
      const q = quantizeWeights(new Float32Array(c.data), c.shape, { groupSize: c.groupSize });
      expect([...q.values]).toEqual(c.values);
      expect(q.scales.length).toBe(c.beta.length);
      expect(maxRelativeDiff(q.scales, c.beta)).toBeLessThanOrEqual(1e-6);
      expect(maxRelativeDiff(q.dequantize(), c.dequantized)).toBeLessThanOrEqual(1e-6);
    });
  }

  it('covers several group sizes', () => {
    const sizes = new Set(golden.weights.map((c) => c.groupSize));
    expect([...sizes].sort()).toEqual([32, 64, 8, 4, 'tensor'].sort());
    expect(
      golden.weights
        .filter((c) => c.name.startsWith('ties'))
        .map(
          (c) =>
            c.values.filter(
              (v, i) => Math.abs((c.data[i] as number) / (c.beta[c.groupSize === 'tensor' ? 0 : Math.floor(i / c.groupSize)] as number)) % 1 === 0.5,
            ).length,
        ),
    ).toEqual([8, 12]);
  });
});

describe('quantizeWeights: storage sizes', () => {
  it('counts bytes per format for a BitNet-2B FFN matrix', () => {
    const q = quantizeWeights(new Float32Array(2560 * 6912).fill(0.01), [2560, 6912]);
    const n = 2560 * 6912;
    expect(q.byteSize('f32')).toBe(n * 4);
    expect(q.byteSize('f16')).toBe(n * 2);
    expect(q.byteSize('int8')).toBe(n + 4);
    expect(q.byteSize('packed2')).toBe(n / 4 + 4);
    expect(q.byteSize('hf')).toBe(n / 4 + 4);
    expect(q.byteSize('tq2_0')).toBe(2560 * 27 * 66);
    expect(q.byteSize('tq1_0')).toBe(2560 * 27 * 54);
    expect((q.byteSize('tq2_0') * 8) / n).toBeCloseTo(2.0625, 6);
  });

  it('pads rows to 256 in the block formats', () => {
    const q = quantizeWeights(new Float32Array(3 * 300).fill(1), [3, 300], { groupSize: 4 });
    expect(q.byteSize('packed2')).toBe(3 * 2 * 64 + q.scales.length * 4);
    expect(q.byteSize('base3')).toBe(3 * 2 * 52 + 225 * 4);
  });
});

describe('quantizeWeights: invalid input', () => {
  const ok = new Float32Array(8).fill(1);
  it('rejects shapes that are not [out, in] or do not match the data', () => {
    expectBitNetError(() => quantizeWeights(ok, [2, 2, 2] as unknown as [number, number]), 'INVALID_SHAPE', 'shape');
    expectBitNetError(() => quantizeWeights(ok, [3, 4]), 'INVALID_SHAPE', 'data');
    expectBitNetError(() => quantizeWeights(ok, [0, 8]), 'INVALID_SHAPE', 'shape[0]');
    expectBitNetError(() => quantizeWeights(ok, [2, 4.5]), 'INVALID_SHAPE', 'shape[1]');
    expectBitNetError(() => quantizeWeights([1, 2] as unknown as Float32Array, [1, 2]), 'INVALID_ARGUMENT', 'data');
  });

  it('rejects group sizes that are not powers of two or do not divide in_features', () => {
    expectBitNetError(() => quantizeWeights(ok, [2, 4], { groupSize: 3 }), 'INVALID_CONFIG', 'groupSize');
    const e = expectBitNetError(() => quantizeWeights(new Float32Array(96), [1, 96], { groupSize: 64 }), 'INVALID_CONFIG', 'groupSize');
    expect(e.message).toContain('does not divide in_features 96');
    expect(e.hint).toBeDefined();
    expectBitNetError(() => quantizeWeights(ok, [2, 4], { groupSize: 0 }), 'INVALID_CONFIG', 'groupSize');
  });

  it('rejects NaN and Infinity, naming the index', () => {
    const nan = new Float32Array([1, 2, NaN, 4]);
    const e = expectBitNetError(() => quantizeWeights(nan, [2, 2]), 'INVALID_DATA', 'data[2]');
    expect(e.message).toContain('NaN');
    expectBitNetError(() => quantizeWeights(new Float32Array([1, -Infinity]), [1, 2]), 'INVALID_DATA', 'data[1]');
  });

  it('rejects a non-positive eps', () => {
    expectBitNetError(() => quantizeWeights(ok, [2, 4], { eps: 0 }), 'INVALID_CONFIG', 'eps');
    expectBitNetError(() => quantizeWeights(ok, [2, 4], { eps: NaN }), 'INVALID_CONFIG', 'eps');
  });
});

describe('roundHalfEven', () => {
  it('matches a slow reference on ties, near-ties and large values', async () => {
    const { roundHalfEven } = await import('../../src/quant/round.js');
    const slow = (v: number): number => {
      const f = Math.floor(v);
      const d = v - f;
      return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
    };
    const cases = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -127.5, 0.49999997, -0.50000006, 1e9 + 0.5, 2 ** 50 + 0.5, 0, -0];
    for (let k = -300; k <= 300; k++) cases.push(k / 4, k / 3, k * 1.0000001);
    for (const v of cases) expect(roundHalfEven(v) + 0).toBe(slow(v) + 0);
  });
});
