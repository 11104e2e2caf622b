import { roundHalfEven } from '../../quant/round.js';
import { TernaryWeight } from '../../quant/weight.js';
import { PROJECTIONS } from './config.js';
import type { BitnetLmWeights } from './weights.js';

export interface LowRankMergeReport {
  /** Projections that took an update. */
  merged: number;
  /** Ternary codes that the re-quantization changed, of `codes` in those projections. */
  changedCodes: number;
  codes: number;
}

/**
 * Folds unmerged LoRA updates into the ternary weights: W = beta · q + (alpha / r) · B A, rounded
 * back onto the base's grid (q' = clamp(round(W / beta), -1, 1), beta kept; absmean of W would
 * shrink beta by the share of zero codes). The result is not base + adapter (a ternary matrix
 * cannot hold a low-rank update): an update smaller than beta / 2 moves no code, and the report
 * says how many moved.
 */
export function mergeLowRank(w: BitnetLmWeights): { weights: BitnetLmWeights; report: LowRankMergeReport } {
  const report: LowRankMergeReport = { merged: 0, changedCodes: 0, codes: 0 };
  const layers = w.layers.map((layer) => {
    if (layer.lora === undefined) return layer;
    const proj = { ...layer.proj };
    for (const p of PROJECTIONS) {
      const delta = layer.lora[p];
      if (delta === undefined) continue;
      const t = layer.proj[p];
      const values = t.values;
      const [out, inF] = t.shape;
      const beta = t.scales[0] as number;
      const scale = Math.fround(delta.alpha / delta.rank);
      const dense = new Float32Array(out * inF);
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inF; i++) {
          let sum = 0;
          for (let j = 0; j < delta.rank; j++) sum += (delta.b[o * delta.rank + j] as number) * (delta.a[j * inF + i] as number);
          dense[o * inF + i] = beta * (values[o * inF + i] as number) + scale * sum;
        }
      const inv = 1 / beta;
      const q = Int8Array.from(dense, (v) => Math.max(-1, Math.min(1, roundHalfEven(v * inv))));
      proj[p] = new TernaryWeight(q, Float32Array.of(beta), [out, inF], 'tensor');
      report.merged++;
      report.codes += values.length;
      q.forEach((v, k) => (report.changedCodes += v === values[k] ? 0 : 1));
    }
    const { lora: _merged, ...rest } = layer;
    return { ...rest, proj };
  });
  return { weights: { ...w, layers }, report };
}
