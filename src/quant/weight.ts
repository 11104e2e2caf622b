import { BitNetError } from '../errors.js';
import { paddedRowLength } from './pack.js';
import { unpackCodes, type PackedCodes } from './packed-codes.js';
import { f32 } from './round.js';
import { storageByteSize, type WeightStorageFormat } from './storage.js';
import { assertDataMatchesShape, assertFinite, assertFloat32Array, assertShape, isPowerOfTwo } from './validate.js';

export type GroupSize = number | 'tensor';

export interface WeightQuantOptions {
  /** `'tensor'` (one beta, the paper) or a power of two dividing in_features: one beta per group of a row. */
  groupSize?: GroupSize;
  /** Lower bound of beta (the reference clamps mean|W| to 1e-5). */
  eps?: number;
}

export const DEFAULT_EPS = 1e-5;

/**
 * Absmean ternary weights: `values` in {-1,0,1} row-major [out, in], `scales` = beta per tensor or
 * per group. A weight may be held packed instead (`TernaryWeight.packed`, 2 bits a weight: what
 * decoding a large model keeps in memory); its `values` are then unpacked anew on each read.
 */
export class TernaryWeight {
  readonly #values: Int8Array | undefined;
  readonly #codes: PackedCodes | undefined;

  constructor(
    values: Int8Array | PackedCodes,
    readonly scales: Float32Array,
    readonly shape: readonly [number, number],
    readonly groupSize: GroupSize,
  ) {
    if (values instanceof Int8Array) this.#values = values;
    else this.#codes = values;
  }

  /** A weight held as its packed codes (`bytes` of a [out, paddedRowLength(in)] matrix in the given layout). */
  static packed(codes: PackedCodes, scales: Float32Array, shape: readonly [number, number], groupSize: GroupSize): TernaryWeight {
    const expected = shape[0] * (paddedRowLength(shape[1]) / 4);
    if (codes.bytes.length !== expected) {
      throw new BitNetError('INVALID_SHAPE', `packed codes have ${codes.bytes.length} bytes, shape ${JSON.stringify(shape)} needs ${expected}`, {
        field: 'codes',
      });
    }
    return new TernaryWeight(codes, scales, shape, groupSize);
  }

  /** The values, row-major [out, in] (a packed weight unpacks them on each read). */
  get values(): Int8Array {
    return this.#values ?? unpackCodes(this.#codes as PackedCodes, this.shape);
  }

  /** The packed codes when the weight is held packed (kernel tiers may convert their layout in place). */
  get packedCodes(): PackedCodes | undefined {
    return this.#codes;
  }

  /** Number of weights that share one scale. */
  get weightsPerScale(): number {
    return this.groupSize === 'tensor' ? this.values.length : this.groupSize;
  }

  /** `q * beta`, row-major [out, in]. */
  dequantize(): Float32Array {
    const out = new Float32Array(this.values.length);
    const per = this.weightsPerScale;
    for (let g = 0; g < this.scales.length; g++) {
      const beta = this.scales[g] as number;
      for (let i = g * per; i < (g + 1) * per; i++) out[i] = f32((this.values[i] as number) * beta);
    }
    return out;
  }

  /** Fraction of weights that are zero. */
  get sparsity(): number {
    let zeros = 0;
    for (const v of this.values) if (v === 0) zeros++;
    return zeros / this.values.length;
  }

  /** Bytes this weight takes in a storage format (see storage.ts for each layout). */
  byteSize(format: WeightStorageFormat): number {
    return storageByteSize(format, this.shape, this.scales.length);
  }
}

function resolveGroupSize(groupSize: GroupSize, inFeatures: number): GroupSize {
  if (groupSize === 'tensor') return groupSize;
  if (!isPowerOfTwo(groupSize)) {
    throw new BitNetError('INVALID_CONFIG', `groupSize must be 'tensor' or a power of two, got ${String(groupSize)}`, {
      field: 'groupSize',
    });
  }
  if (inFeatures % groupSize !== 0) {
    throw new BitNetError('INVALID_CONFIG', `groupSize ${groupSize} does not divide in_features ${inFeatures}`, {
      field: 'groupSize',
      hint: `choose a power of two that divides ${inFeatures}, or 'tensor'`,
    });
  }
  return groupSize;
}

function resolveEps(eps: number): number {
  if (!Number.isFinite(eps) || eps <= 0) {
    throw new BitNetError('INVALID_CONFIG', `eps must be a positive finite number, got ${String(eps)}`, { field: 'eps' });
  }
  return f32(eps);
}

/** Quantizes one run of weights sharing a beta; returns beta. */
function quantizeSpan(data: Float32Array, values: Int8Array, start: number, end: number, eps: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += Math.abs(data[i] as number);
  const beta = f32(Math.max(f32(sum / (end - start)), eps));
  const inv = f32(1 / beta);
  // clamp(round_half_even(p), -1, 1) is 1 above 0.5, -1 below -0.5, else 0 (ties at ±0.5 go to 0).
  // Written without branches: random signs defeat the branch predictor (7x slower measured).
  for (let i = start; i < end; i++) {
    const p = f32((data[i] as number) * inv);
    values[i] = ((p > 0.5) as unknown as number) - ((p < -0.5) as unknown as number);
  }
  return beta;
}

/**
 * Absmean ternary quantization (REFERENCE.md §1): beta = max(mean|W|, eps),
 * q = clamp(round_half_even(W / beta), -1, 1), in float32 like the PyTorch reference.
 */
export function quantizeWeights(data: Float32Array, shape: readonly [number, number], opts: WeightQuantOptions = {}): TernaryWeight {
  assertFloat32Array(data);
  assertShape(shape);
  if (shape.length !== 2) {
    throw new BitNetError('INVALID_SHAPE', `weights must have shape [out, in], got ${JSON.stringify(shape)}`, {
      field: 'shape',
    });
  }
  assertDataMatchesShape(data.length, shape);
  assertFinite(data);
  const [, inFeatures] = shape;
  const groupSize = resolveGroupSize(opts.groupSize ?? 'tensor', inFeatures);
  const eps = resolveEps(opts.eps ?? DEFAULT_EPS);
  const values = new Int8Array(data.length);
  const span = groupSize === 'tensor' ? data.length : groupSize;
  const scales = new Float32Array(data.length / span);
  for (let g = 0; g < scales.length; g++) {
    scales[g] = quantizeSpan(data, values, g * span, (g + 1) * span, eps);
  }
  return new TernaryWeight(values, scales, [shape[0], shape[1]], groupSize);
}
