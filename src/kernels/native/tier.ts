import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { GemmShape, KernelTier, UploadedCodes } from '../types.js';

interface NativeAddon {
  gemm(codes: Uint8Array, rows: number, cols: number, x: Int8Array, batch: number, groupCols: number, out: Int32Array, threads: number): void;
  /** The codes in the layout the active kernel reads (AVX-512 VNNI: interleaved by 16 rows). */
  prepare(codes: Uint8Array, rows: number, cols: number): Uint8Array;
  gemvHalf(w: Uint16Array, rows: number, cols: number, x: Float32Array, out: Float32Array, threads: number): void;
  attention(q: Float32Array, k: Float32Array, v: Float32Array, pos: number, heads: number, kvHeads: number, headDim: number, half: boolean, out: Float32Array): void;
  features(): string;
}

export const NATIVE_PATH = (): string => join(packageRoot(), 'build', 'ternary.node');

/** The native N-API tier (AVX-512 VNNI / AVX2 / portable C, chosen at load), zero-copy, threaded. */
export class NativeTier implements KernelTier {
  readonly name = 'native' as const;
  readonly detail: string;

  constructor(private readonly addon: NativeAddon) {
    this.detail = addon.features();
  }

  upload(codes: Uint8Array, rows: number, paddedCols: number): UploadedCodes {
    return { codes: this.addon.prepare(codes, rows, paddedCols), tier: this.name };
  }

  release(): void {}

  /**
   * One query row against a KV cache of pos + 1 positions (GQA), as BitnetRunner computes it in
   * TypeScript: double sums; with `half`, llama.cpp numerics' half and float roundings.
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, pos: number, heads: number, kvHeads: number, headDim: number, half: boolean, out: Float32Array): void {
    this.addon.attention(q, k, v, pos, heads, kvHeads, headDim, half, out);
  }

  /** out = W x, W [rows, cols] raw IEEE halves, accumulated in float32. */
  gemvHalf(w: Uint16Array, rows: number, cols: number, x: Float32Array, out: Float32Array, threads: number): void {
    this.addon.gemvHalf(w, rows, cols, x, out, threads);
  }

  gemm(weights: UploadedCodes, s: GemmShape): void {
    this.addon.gemm(weights.codes, s.rows, s.paddedCols, s.x, s.batch, s.groupCols, s.out, s.threads ?? 1);
  }
}

let loaded: NativeTier | null | undefined;

/** The native tier, or null when it was not built (no compiler, BITNET_NO_NATIVE=1) or does not load. */
export function loadNativeTier(): NativeTier | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = existsSync(NATIVE_PATH()) ? new NativeTier(createRequire(import.meta.url)(NATIVE_PATH()) as NativeAddon) : null;
  } catch {
    loaded = null;
  }
  return loaded;
}
