/**
 * The integer problem every kernel tier solves, on this project's packed layout (2-bit codes in
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
  readonly tier: string;
  /** Where the codes live in the tier's own memory, when it has one. */
  readonly offset?: number;
}

export interface KernelTier {
  readonly name: 'reference' | 'wasm' | 'native';
  /** What the tier runs on (`avx512-vnni`, `avx2`, `simd128`, `typescript`). */
  readonly detail: string;
  /** Readies a [rows, paddedCols] weight matrix of packed codes (the native tier repacks it). */
  upload(codes: Uint8Array, rows: number, paddedCols: number): UploadedCodes;
  release(weights: UploadedCodes): void;
  gemm(weights: UploadedCodes, shape: GemmShape): void;
}
