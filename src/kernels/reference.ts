import { halfTable } from '../util/half.js';
import { dotF16, dotF16Amx } from './ggml-f16-dot.js';
import type { AttentionKernel, GemmShape, GemvHalfKernel, GgmlGemvHalfKernel, KernelTier, SiluGluKernel } from './types.js';

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

const f32 = Math.fround;

/** F16 GEMV in float32, one multiply-add at a time. */
export const referenceGemvHalf: GemvHalfKernel = (w, rows, cols, x, out) => {
  const t = halfTable();
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let k = 0; k < cols; k++) acc = f32(acc + f32((t[w[base + k] as number] as number) * (x[k] as number)));
    out[r] = acc;
  }
};

/** The F16 head in llama.cpp's summation order, one row at a time. */
export const referenceGgmlGemvHalf: GgmlGemvHalfKernel = (w, rows, cols, x, out, path) => {
  const t = halfTable();
  const wf = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) wf[k] = t[w[r * cols + k] as number] as number;
    out[r] = path === 'amx' ? dotF16Amx(wf, 0, x, cols) : dotF16('vec', path, wf, 0, x, 0, cols);
  }
};

/**
 * Decode attention in TypeScript: the sums the native tier repeats in C. A q·k dot adds term i
 * into lane i mod 8 and the lanes as ((0+1)+(2+3))+((4+5)+(6+7)), the order of the C kernel's vectors.
 */
export const referenceAttention: AttentionKernel = (q, k, v, pos, heads, kvHeads, hd, out) => {
  const kvDim = hd * kvHeads;
  const lanes = new Float64Array(8);
  const group = heads / kvHeads;
  const acc = new Float64Array(hd);
  const scores = new Float64Array(pos + 1);
  const scale = f32(1 / Math.sqrt(hd));
  for (let h = 0; h < heads; h++) {
    const kvBase = Math.floor(h / group) * hd;
    const qBase = h * hd;
    let max = -Infinity;
    for (let t = 0; t <= pos; t++) {
      const kb = t * kvDim + kvBase;
      lanes.fill(0);
      for (let i = 0; i < hd; i++) lanes[i & 7] = (lanes[i & 7] as number) + (q[qBase + i] as number) * (k[kb + i] as number);
      const [l0, l1, l2, l3, l4, l5, l6, l7] = lanes as unknown as [number, number, number, number, number, number, number, number];
      const sc = (l0 + l1 + (l2 + l3) + (l4 + l5 + (l6 + l7))) * scale;
      scores[t] = sc;
      if (sc > max) max = sc;
    }
    let sum = 0;
    for (let t = 0; t <= pos; t++) {
      const e = Math.exp((scores[t] as number) - max);
      scores[t] = e;
      sum += e;
    }
    acc.fill(0);
    for (let t = 0; t <= pos; t++) {
      const p = (scores[t] as number) / sum;
      const vb = t * kvDim + kvBase;
      for (let i = 0; i < hd; i++) acc[i] = (acc[i] as number) + p * (v[vb + i] as number);
    }
    for (let i = 0; i < hd; i++) out[qBase + i] = acc[i] as number;
  }
};

/** SiLU-GLU in TypeScript, the formula itself. */
export const referenceSiluGlu: SiluGluKernel = (gate, up, out) => {
  for (let j = 0; j < gate.length; j++) {
    const g = gate[j] as number;
    out[j] = f32(f32(g / (1 + Math.exp(-g))) * (up[j] as number));
  }
};

/** The oracle tier: every capability, in plain TypeScript. */
export const referenceTier: KernelTier = {
  name: 'reference',
  detail: 'typescript',
  ternary: {
    upload: (codes) => ({ codes, tier: 'reference' }),
    release: () => {},
    gemm: (weights, shape) => referenceGemm(weights.codes, shape),
  },
  gemvHalf: referenceGemvHalf,
  ggmlGemvHalf: referenceGgmlGemvHalf,
  attention: referenceAttention,
  siluGlu: referenceSiluGlu,
};
