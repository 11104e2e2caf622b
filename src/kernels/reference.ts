import type { GemmShape, KernelTier } from './types.js';

/** Position of column k of a row in the packed bytes: [byte offset in the row, bit shift]. */
export function codePosition(k: number): [number, number] {
  const block = k >> 8;
  const e = k & 255;
  return [block * 64 + 32 * (e >> 7) + (e & 31), 2 * ((e >> 5) & 3)];
}

/** The oracle: plain TypeScript, one multiply-add per weight. */
export function referenceGemm(codes: Uint8Array, { rows, paddedCols, x, batch, groupCols, out }: GemmShape): void {
  const rowBytes = paddedCols / 4;
  const groups = paddedCols / groupCols;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        let acc = 0;
        for (let k = g * groupCols; k < (g + 1) * groupCols; k++) {
          const [byte, shift] = codePosition(k);
          const q = (((codes[r * rowBytes + byte] as number) >> shift) & 3) - 1;
          acc += q * (x[b * paddedCols + k] as number);
        }
        out[(b * rows + r) * groups + g] = acc;
      }
    }
  }
}

export const referenceTier: KernelTier = {
  name: 'reference',
  detail: 'typescript',
  upload: (codes) => ({ codes, tier: 'reference' }),
  release: () => {},
  gemm: (weights, shape) => referenceGemm(weights.codes, shape),
};
