import { BitNetError } from '../errors.js';
import { DEFAULT_EPS } from './weight.js';
import { f32, roundHalfEven } from './round.js';
import { assertDataMatchesShape, assertFinite, assertFloat32Array, assertShape } from './validate.js';

export type ActivationScope = 'token' | 'tensor';

export interface ActivationQuantOptions {
  /** `'token'`: one scale per row of the last dimension (the reference); `'tensor'`: one scale. */
  scope?: ActivationScope;
  /** 2..8; the integer range is [-2^(bits-1), 2^(bits-1) - 1]. */
  bits?: number;
  /** Lower bound of absmax. */
  eps?: number;
}

/** Absmax integer activations. `scales` holds the dequantization multiplier 1/s per token (or one per tensor). */
export class QuantizedActivations {
  constructor(
    readonly values: Int8Array,
    readonly scales: Float32Array,
    /** The quantization multipliers s = Qp / absmax; `scales[i]` is `1 / s[i]` in float32. */
    readonly quantScales: Float32Array,
    readonly shape: readonly number[],
    readonly scope: ActivationScope,
    readonly bits: number,
  ) {}

  /** Length of the span each scale covers. */
  get rowLength(): number {
    return this.values.length / this.scales.length;
  }

  /** `q / s` as the reference computes it. */
  dequantize(): Float32Array {
    const out = new Float32Array(this.values.length);
    const len = this.rowLength;
    for (let r = 0; r < this.quantScales.length; r++) {
      const s = this.quantScales[r] as number;
      for (let i = r * len; i < (r + 1) * len; i++) out[i] = f32((this.values[i] as number) / s);
    }
    return out;
  }
}

export function integerRange(bits: number): { min: number; max: number } {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new BitNetError('INVALID_CONFIG', `activation bits must be an integer in 2..8, got ${String(bits)}`, {
      field: 'bits',
    });
  }
  return { min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 };
}

/**
 * Absmax activation quantization (REFERENCE.md §1): s = Qp / max(absmax, eps) in float32
 * (as PyTorch computes it: reciprocal, then product),
 * q = clamp(round_half_even(x * s), Qn, Qp); per token (last dimension) or per tensor.
 */
export function quantizeActivations(data: Float32Array, shape: readonly number[], opts: ActivationQuantOptions = {}): QuantizedActivations {
  assertFloat32Array(data);
  assertShape(shape);
  assertDataMatchesShape(data.length, shape);
  assertFinite(data);
  const scope = opts.scope ?? 'token';
  if (scope !== 'token' && scope !== 'tensor') {
    throw new BitNetError('INVALID_CONFIG', `scope must be 'token' or 'tensor', got ${String(scope)}`, { field: 'scope' });
  }
  const bits = opts.bits ?? 8;
  const { min, max } = integerRange(bits);
  const epsRaw = opts.eps ?? DEFAULT_EPS;
  if (!Number.isFinite(epsRaw) || epsRaw <= 0) {
    throw new BitNetError('INVALID_CONFIG', `eps must be a positive finite number, got ${String(epsRaw)}`, { field: 'eps' });
  }
  const eps = f32(epsRaw);
  const rowLength = scope === 'tensor' ? data.length : (shape[shape.length - 1] as number);
  const rows = data.length / rowLength;
  const values = new Int8Array(data.length);
  const scales = new Float32Array(rows);
  const quantScales = new Float32Array(rows);
  quantizeRowsInto(data, rowLength, { min, max, eps }, values, scales, quantScales);
  return new QuantizedActivations(values, scales, quantScales, [...shape], scope, bits);
}

/**
 * The quantization of quantizeActivations without its checks, into caller-owned arrays (the
 * decoder's per-token hot path): rows of `rowLength` in `data`, integer range [min, max], eps
 * already float32.
 */
export function quantizeRowsInto(
  data: Float32Array,
  rowLength: number,
  range: { min: number; max: number; eps: number },
  values: Int8Array,
  scales: Float32Array,
  quantScales?: Float32Array,
): void {
  const { min, max, eps } = range;
  const rows = data.length / rowLength;
  for (let r = 0; r < rows; r++) {
    const start = r * rowLength;
    const end = start + rowLength;
    let absmax = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(data[i] as number);
      if (a > absmax) absmax = a;
    }
    // PyTorch evaluates `Qp / t` as `t.reciprocal() * Qp`: two float32 roundings, matched here.
    const s = f32(f32(1 / Math.max(absmax, eps)) * max);
    if (quantScales !== undefined) quantScales[r] = s;
    scales[r] = f32(1 / s);
    for (let i = start; i < end; i++) {
      const v = roundHalfEven(f32((data[i] as number) * s));
      values[i] = v < min ? min : v > max ? max : v;
    }
  }
}
