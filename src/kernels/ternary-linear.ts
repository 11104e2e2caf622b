import { BitNetError } from '../errors.js';
import { quantizeActivations, type ActivationScope } from '../quant/activation.js';
import { packTernary2, paddedRowLength } from '../quant/pack.js';
import type { TernaryWeight } from '../quant/weight.js';
import { threadsFor } from '../settings.js';
import { referenceTier } from './reference.js';
import { resolveKernels } from './registry.js';
import { uploadPackedCodes, type KernelTierName, type Kernels, type TernaryGemmKernel, type UploadedCodes } from './types.js';

export interface TernaryLinearOptions {
  bias?: Float32Array;
  /** The kernels to run on (default: resolveKernels(), the `kernel` setting). */
  kernels?: Kernels;
  activationBits?: number;
  activationScope?: ActivationScope;
  eps?: number;
  /** Threads for the native tier (default: $BITNET_THREADS or the core count). */
  threads?: number;
}

const f32 = Math.fround;

/**
 * A linear layer on packed ternary weights without tfjs: y = (q_w · q_x) scaled by beta and the
 * per-token activation scale, computed by the kernel tiers. Outputs equal BitLinear's inference
 * mode bit for bit (same quantization, same order of float operations).
 */
// The kernel's int32 sums and padded activations, shared by every layer (a call uses them only
// until it returns): a decoder calls each layer once a token, and a buffer per layer sized for a
// prompt kept 150 MB of a 2.4B model's; fresh typed arrays are off-heap allocations whose
// external-memory accounting triggers full collections.
let sharedAcc = new Int32Array(0);
let sharedX = new Int8Array(0);

export class TernaryLinear {
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly paddedCols: number;
  /** Columns per scale group in the kernel: paddedCols for one beta per tensor. */
  readonly groupCols: number;
  /** The tier whose GEMM runs this layer. */
  readonly tier: KernelTierName;
  private readonly gemm: TernaryGemmKernel;
  private readonly weights: UploadedCodes;
  private readonly realGroups: number;

  constructor(
    readonly weight: TernaryWeight,
    private readonly options: TernaryLinearOptions = {},
  ) {
    [this.outFeatures, this.inFeatures] = weight.shape;
    this.paddedCols = paddedRowLength(this.inFeatures);
    const g = weight.groupSize;
    this.groupCols = g === 'tensor' ? this.paddedCols : g;
    this.realGroups = g === 'tensor' ? 1 : this.inFeatures / g;
    if (this.paddedCols % this.groupCols !== 0) {
      throw new BitNetError('UNSUPPORTED', `group size ${g} does not tile rows padded to ${this.paddedCols}`, { field: 'groupSize' });
    }
    // Groups narrower than the layout's 32-column planes run on the reference tier.
    const kernels = options.kernels ?? resolveKernels();
    const narrow = this.groupCols % 32 !== 0;
    this.tier = narrow ? 'reference' : kernels.providers.ternary;
    this.gemm = narrow ? (referenceTier.ternary as TernaryGemmKernel) : kernels.ternary;
    const packed = weight.packedCodes;
    this.weights =
      packed === undefined
        ? this.gemm.upload(packTernary2(weight.values, weight.shape), this.outFeatures, this.paddedCols)
        : uploadPackedCodes(this.gemm, packed, this.outFeatures, this.paddedCols);
    if (options.bias !== undefined && options.bias.length !== this.outFeatures) {
      throw new BitNetError('INVALID_SHAPE', `bias has ${options.bias.length} values, expected ${this.outFeatures}`, { field: 'bias' });
    }
  }

  /** Quantizes x ([batch, in], per token as BitLinear does) and applies the layer. */
  forward(x: Float32Array, batch: number): Float32Array {
    const q = quantizeActivations(x, [batch, this.inFeatures], {
      bits: this.options.activationBits ?? 8,
      scope: this.options.activationScope ?? 'token',
      eps: this.options.eps ?? 1e-5,
    });
    return this.forwardQuantized(q.values, q.scales, batch);
  }

  /**
   * Integer activations [batch, in] with their dequantization multipliers (one per token, or one).
   * `out` ([batch, out]) receives the result when given, else a new array does.
   */
  forwardQuantized(values: Int8Array, scales: Float32Array, batch: number, out?: Float32Array): Float32Array {
    const { inFeatures: inF, paddedCols: cols, outFeatures: rows, groupCols } = this;
    let x = values.length === batch * inF ? values : values.subarray(0, batch * inF);
    if (cols !== inF) {
      x = this.scratchX(batch * cols);
      for (let b = 0; b < batch; b++) x.set(values.subarray(b * inF, (b + 1) * inF), b * cols);
    }
    const groups = cols / groupCols;
    const acc = this.scratchAcc(batch * rows * groups);
    const threads = threadsFor(batch * rows * cols, this.options.threads);
    this.gemm.gemm(this.weights, { rows, paddedCols: cols, x, batch, groupCols, out: acc, threads });
    if (out !== undefined && out.length !== batch * rows) {
      throw new BitNetError('INVALID_SHAPE', `out has ${out.length} values, expected ${batch * rows}`, { field: 'out' });
    }
    const y = out ?? new Float32Array(batch * rows);
    const beta = this.weight.scales;
    const bias = this.options.bias;
    for (let b = 0; b < batch; b++) {
      const invS = scales.length === 1 ? (scales[0] as number) : (scales[b] as number);
      if (this.weight.groupSize === 'tensor') {
        const c = f32((beta[0] as number) * invS);
        for (let r = 0; r < rows; r++) y[b * rows + r] = f32((acc[b * rows + r] as number) * c);
      } else {
        for (let r = 0; r < rows; r++) {
          const base = (b * rows + r) * groups;
          let sum = f32((acc[base] as number) * (beta[r * this.realGroups] as number));
          for (let g = 1; g < this.realGroups; g++) sum = f32(sum + f32((acc[base + g] as number) * (beta[r * this.realGroups + g] as number)));
          y[b * rows + r] = f32(sum * invS);
        }
      }
      if (bias !== undefined) for (let r = 0; r < rows; r++) y[b * rows + r] = f32((y[b * rows + r] as number) + (bias[r] as number));
    }
    return y;
  }

  private scratchAcc(n: number): Int32Array {
    if (sharedAcc.length < n) sharedAcc = new Int32Array(n);
    return sharedAcc.length === n ? sharedAcc : sharedAcc.subarray(0, n);
  }

  /** Zero-filled: the padding columns must stay zero. */
  private scratchX(n: number): Int8Array {
    if (sharedX.length < n) sharedX = new Int8Array(n);
    const x = sharedX.length === n ? sharedX : sharedX.subarray(0, n);
    x.fill(0);
    return x;
  }

  dispose(): void {
    this.gemm.release(this.weights);
  }
}
