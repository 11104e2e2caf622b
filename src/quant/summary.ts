import type { TernaryWeight } from './weight.js';
import { WEIGHT_STORAGE_FORMATS, type WeightStorageFormat } from './storage.js';

export interface TernarySummary {
  shape: [number, number];
  groupSize: number | 'tensor';
  scaleCount: number;
  scaleMin: number;
  scaleMax: number;
  counts: { minusOne: number; zero: number; plusOne: number };
  sparsity: number;
  /** ||W - dequant(W)|| / ||W|| */
  relativeError: number;
  bytes: Record<WeightStorageFormat, number>;
  bitsPerWeight: Record<WeightStorageFormat, number>;
}

export function summarizeTernary(original: Float32Array, weight: TernaryWeight): TernarySummary {
  const counts = { minusOne: 0, zero: 0, plusOne: 0 };
  for (const v of weight.values) {
    if (v < 0) counts.minusOne++;
    else if (v === 0) counts.zero++;
    else counts.plusOne++;
  }
  const deq = weight.dequantize();
  let errSq = 0;
  let normSq = 0;
  for (let i = 0; i < original.length; i++) {
    const w = original[i] as number;
    const d = w - (deq[i] as number);
    errSq += d * d;
    normSq += w * w;
  }
  const n = weight.values.length;
  const bytes = {} as Record<WeightStorageFormat, number>;
  const bitsPerWeight = {} as Record<WeightStorageFormat, number>;
  for (const format of WEIGHT_STORAGE_FORMATS) {
    bytes[format] = weight.byteSize(format);
    bitsPerWeight[format] = (bytes[format] * 8) / n;
  }
  return {
    shape: [weight.shape[0], weight.shape[1]],
    groupSize: weight.groupSize,
    scaleCount: weight.scales.length,
    scaleMin: weight.scales.reduce((a, b) => Math.min(a, b), Infinity),
    scaleMax: weight.scales.reduce((a, b) => Math.max(a, b), -Infinity),
    counts,
    sparsity: counts.zero / n,
    relativeError: normSq === 0 ? 0 : Math.sqrt(errSq / normSq),
    bytes,
    bitsPerWeight,
  };
}
