import type { Kernels, UploadedCodes } from '../kernels/types.js';
import { TernaryLinear } from '../kernels/ternary-linear.js';
import type { QuantizedActivations } from '../quant/activation.js';
import { packTernary2, paddedRowLength } from '../quant/pack.js';
import { quantizeQ8K } from '../quant/q8k.js';
import type { TernaryWeight } from '../quant/weight.js';
import { roundToHalf } from '../util/half.js';
import { tq2LaneCorrections, tq2LaneOrdered, tq2LaneSum } from '../kernels/tq2-lanes.js';

/**
 * 'bitnet': the BitNet reference (per-token int8 absmax activations, f32 everywhere else).
 * 'llama.cpp': what llama.cpp's CPU library computes without flash attention, to the bit on x86
 * (AVX2 and AVX-512 builds): Q8_K activation blocks of 256 before ternary matmuls with f16 block
 * scales in the AVX2 kernel's summation order, f16 token embeddings and head input, f16 K/V cache
 * and attention operands, ggml's vector expf in softmax and SiLU, its F16 dot products (one
 * order when decoding, llamafile's when a prompt is a batch). src/inference/ggml-*.ts hold the
 * pieces; test/interop/ggml-numerics.test.ts checks each against ggml itself.
 */
export type Numerics = 'bitnet' | 'llama.cpp';

const f32 = Math.fround;

/** A ternary projection in either numerics, on the packed kernels. */
export class Projector {
  private readonly linear: TernaryLinear | undefined;
  private readonly codes: UploadedCodes | undefined;
  private readonly dw: number;
  private readonly scale: number | undefined;

  constructor(
    readonly weight: TernaryWeight,
    readonly numerics: Numerics,
    scaleTensors: boolean,
    private readonly kernels: Kernels,
  ) {
    this.scale = scaleTensors ? weight.scales[0] : undefined;
    if (numerics === 'bitnet') {
      this.linear = new TernaryLinear(weight, { kernels });
      this.dw = 0;
    } else {
      this.codes = kernels.ternary.upload(
        packTernary2(tq2LaneOrdered(weight.values, weight.shape), weight.shape),
        weight.shape[0],
        paddedRowLength(weight.shape[1]),
      );
      // blocks hold d = f16(beta), or d = 1 with the exact beta applied after the matmul
      this.dw = scaleTensors ? 1 : roundToHalf(weight.scales[0] as number);
    }
  }

  /** BitNet numerics: the layer's product of activations already quantized per token. */
  applyQuantized(q: Pick<QuantizedActivations, 'values' | 'scales'>, rows: number, out?: Float32Array): Float32Array | undefined {
    return this.linear?.forwardQuantized(q.values, q.scales, rows, out);
  }

  /** y = W x for `rows` inputs [rows, in] (each row quantized on its own, as one at a time). */
  apply(x: Float32Array, rows = 1): Float32Array {
    if (this.linear !== undefined) return this.linear.forward(x, rows);
    const [out, cols] = this.weight.shape;
    const y = new Float32Array(rows * out);
    for (let r = 0; r < rows; r++) y.set(this.applyQ8K(x.subarray(r * cols, (r + 1) * cols)), r * out);
    return y;
  }

  private applyQ8K(x: Float32Array): Float32Array {
    const [rows, cols] = this.weight.shape;
    const { q, d } = quantizeQ8K(x);
    const lanes = cols / 32;
    const acc = new Int32Array(rows * lanes);
    this.kernels.ternary.gemm(this.codes as UploadedCodes, { rows, paddedCols: cols, x: tq2LaneOrdered(q, [1, cols]), batch: 1, groupCols: 32, out: acc });
    const corrections = tq2LaneCorrections(q);
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const sum = tq2LaneSum(acc.subarray(r * lanes, (r + 1) * lanes), corrections, d, this.dw);
      y[r] = this.scale === undefined ? sum : f32(sum * this.scale);
    }
    return y;
  }
}
