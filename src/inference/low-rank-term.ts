import { dotF16, type F16DotOrder } from '../kernels/ggml-f16-dot.js';
import type { GgmlIsa } from '../kernels/ggml-float.js';
import type { LowRankDelta } from '../nn/low-rank.js';
import { roundToHalf } from '../util/half.js';
import type { Numerics } from './projector.js';

const f32 = Math.fround;

/**
 * An unmerged LoRA update added to a projection's output: y += (alpha / rank) · B (A x).
 * 'bitnet' numerics: float32 products of the float input (as the tfjs LoraLinear computes them,
 * within rounding). 'llama.cpp' numerics: what llama.cpp's build_lora_mm computes with the F16
 * adapter tensors writeLoraGguf stores: A·x with x rounded to half, that result rounded to half
 * for B, each an F16 dot product in ggml's order (ggml_vec_dot_f16 for one token; tinyBLAS for a
 * batch when the length is a multiple of the vector width and the rows of four), then scaled by
 * float(alpha / rank) and added.
 */
export class LowRankTerm {
  private readonly a: Float32Array;
  private readonly b: Float32Array;
  private readonly scale: number;
  private readonly inDim: number;
  private readonly outDim: number;

  constructor(
    delta: LowRankDelta,
    private readonly numerics: Numerics,
    private readonly isa: GgmlIsa,
  ) {
    const half = numerics === 'llama.cpp';
    this.a = half ? delta.a.map(roundToHalf) : delta.a;
    this.b = half ? delta.b.map(roundToHalf) : delta.b;
    this.scale = f32(delta.alpha / delta.rank);
    this.inDim = delta.a.length / delta.rank;
    this.outDim = delta.b.length / delta.rank;
  }

  private get rank(): number {
    return this.a.length / this.inDim;
  }

  /** ggml's summation order for a product of `m` rows over `k`, for `rows` input columns. */
  private order(rows: number, m: number, k: number): F16DotOrder {
    const lanes = this.isa === 'avx512' ? 16 : 8;
    return rows >= 2 && k % lanes === 0 && m % 4 === 0 ? 'tiny' : 'vec';
  }

  /** Adds the update to y [rows, out] for the inputs x [rows, in]. */
  addTo(y: Float32Array, x: Float32Array, rows: number): void {
    const { inDim, outDim, rank } = this;
    const t = new Float32Array(rank);
    for (let r = 0; r < rows; r++) {
      const xr = x.subarray(r * inDim, (r + 1) * inDim);
      if (this.numerics === 'llama.cpp') {
        const xh = xr.map(roundToHalf);
        const first = this.order(rows, rank, inDim);
        for (let j = 0; j < rank; j++) t[j] = roundToHalf(dotF16(first, this.isa, this.a, j * inDim, xh, 0, inDim));
        const second = this.order(rows, outDim, rank);
        for (let o = 0; o < outDim; o++) {
          const u = dotF16(second, this.isa, this.b, o * rank, t, 0, rank);
          y[r * outDim + o] = f32((y[r * outDim + o] as number) + f32(u * this.scale));
        }
        continue;
      }
      for (let j = 0; j < rank; j++) {
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += (this.a[j * inDim + i] as number) * (xr[i] as number);
        t[j] = f32(sum);
      }
      for (let o = 0; o < outDim; o++) {
        let sum = 0;
        for (let j = 0; j < rank; j++) sum += (this.b[o * rank + j] as number) * (t[j] as number);
        y[r * outDim + o] = f32((y[r * outDim + o] as number) + f32(f32(sum) * this.scale));
      }
    }
  }
}
