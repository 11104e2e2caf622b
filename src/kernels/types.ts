import { rowsLayoutCodes, type PackedCodes } from '../quant/packed-codes.js';
import type { GgmlIsa } from './ggml-float.js';
import type { KernelTierName } from '../settings.js';

export type { KernelPreference, KernelTierName } from '../settings.js';

/**
 * The integer problem every ternary kernel solves, on this project's packed layout (2-bit codes in
 * TQ2_0 `qs` order, rows padded to 256 with zero weights):
 *
 *   out[b][r][g] = sum over k in group g of q[r][k] * x[b][k]
 *
 * with q in {-1, 0, 1} stored as codes q + 1, x int8 (rows of `paddedCols`, zero past the real
 * columns), and groups of `groupCols` consecutive columns (`paddedCols`: one group per row).
 * Accumulation is exact int32.
 */
export interface GemmShape {
  rows: number;
  /** A multiple of 256. */
  paddedCols: number;
  /** batch * paddedCols int8 activations. */
  x: Int8Array;
  batch: number;
  /** A multiple of 32 dividing paddedCols (32-column groups match the layout's planes). */
  groupCols: number;
  /** batch * rows * (paddedCols / groupCols) results. */
  out: Int32Array;
  /** Threads the tier may use (native only; the others run on the calling thread). */
  threads?: number;
}

/** Packed codes made ready for one tier (wasm copies them into its memory once). */
export interface UploadedCodes {
  readonly codes: Uint8Array;
  readonly tier: KernelTierName;
  /** Where the codes live in the tier's own memory, when it has one. */
  readonly offset?: number;
}

/** The ternary GEMM capability: packed codes uploaded once, then multiplied by int8 rows. */
export interface TernaryGemmKernel {
  /** Readies a [rows, paddedCols] weight matrix of packed codes (the native tier repacks it). */
  upload(codes: Uint8Array, rows: number, paddedCols: number): UploadedCodes;
  /**
   * Readies the codes of a weight held packed (TernaryWeight.packed) without a second copy where
   * the tier can: the native tier converts 'rows' to its 'rows16' layout in place. Tiers without
   * it get `upload` of the 'rows' layout (uploadPackedCodes).
   */
  uploadCodes?(codes: PackedCodes, rows: number, paddedCols: number): UploadedCodes;
  release(weights: UploadedCodes): void;
  gemm(weights: UploadedCodes, shape: GemmShape): void;
}

/** out = W x, W [rows, cols] raw IEEE halves (an F16 output head), accumulated in float32. */
export type GemvHalfKernel = (w: Uint16Array, rows: number, cols: number, x: Float32Array, out: Float32Array, threads: number) => void;

/**
 * out = W x for an F16 head W [rows, cols] (raw halves) as llama.cpp computes it
 * (src/kernels/ggml-f16-dot.ts): 'avx512' and 'avx2', x already rounded to half, each row summed
 * as ggml_vec_dot_f16 does on that path; 'amx', x in float, as the AMX buffer's kernel (cols a
 * multiple of 16).
 */
export type GgmlHeadPath = GgmlIsa | 'amx';
export type GgmlGemvHalfKernel = (w: Uint16Array, rows: number, cols: number, x: Float32Array, out: Float32Array, path: GgmlHeadPath, threads: number) => void;

/**
 * One query row against a KV cache of pos + 1 positions (GQA), sums in double; out receives heads * headDim values.
 * `threads` (native tier) splits the heads; the values do not depend on it.
 */
export type AttentionKernel = (
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  pos: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  out: Float32Array,
  threads?: number,
) => void;

/**
 * SiLU-GLU of an MLP: out[i] = f32(f32(g / (1 + Math.exp(-g))) * up[i]) for g = gate[i], the exp as
 * V8's Math.exp (fdlibm). Every tier gives the same bits; `threads` (native tier) splits the elements.
 */
export type SiluGluKernel = (gate: Float32Array, up: Float32Array, out: Float32Array, threads?: number) => void;

/** The capabilities a tier may offer; a tier without one defers to the next tier down. */
export const KERNEL_CAPABILITIES = ['ternary', 'gemvHalf', 'ggmlGemvHalf', 'attention', 'siluGlu'] as const;
export type KernelCapability = (typeof KERNEL_CAPABILITIES)[number];

/** One registry entry (src/kernels/registry.ts): a tier and the capabilities it offers. */
export interface KernelTier {
  readonly name: KernelTierName;
  /** What the tier runs on (`avx512-vnni`, `avx2`, `simd128`, `typescript`, a GPU's name). */
  readonly detail: string;
  readonly ternary?: TernaryGemmKernel;
  readonly gemvHalf?: GemvHalfKernel;
  readonly ggmlGemvHalf?: GgmlGemvHalfKernel;
  readonly attention?: AttentionKernel;
  readonly siluGlu?: SiluGluKernel;
}

/** The kernels a path runs on: each capability from the chosen tier, or the next one down that has it. */
export interface Kernels {
  /** The tier asked for, resolved ('auto' becomes the fastest CPU tier that loads). */
  readonly tier: KernelTierName;
  /** Whether the tier was chosen automatically (then BitLinear on tfjs-webgpu may use the WGSL kernels). */
  readonly automatic: boolean;
  /** Which tier provides each capability. */
  readonly providers: Readonly<Record<KernelCapability, KernelTierName>>;
  readonly ternary: TernaryGemmKernel;
  readonly gemvHalf: GemvHalfKernel;
  readonly ggmlGemvHalf: GgmlGemvHalfKernel;
  readonly attention: AttentionKernel;
  readonly siluGlu: SiluGluKernel;
}

/** A packed weight's codes readied by a tier: in place where it can, else uploaded in the 'rows' layout. */
export function uploadPackedCodes(kernel: TernaryGemmKernel, codes: PackedCodes, rows: number, paddedCols: number): UploadedCodes {
  return kernel.uploadCodes?.(codes, rows, paddedCols) ?? kernel.upload(rowsLayoutCodes(codes, [rows, paddedCols]), rows, paddedCols);
}
