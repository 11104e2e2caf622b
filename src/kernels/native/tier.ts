import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BitNetError } from '../../errors.js';
import { settings } from '../../settings.js';
import { packageRoot } from '../package-root.js';
import { rowsLayoutCodes } from '../../quant/packed-codes.js';
import type { AttentionKernel, GemvHalfKernel, KernelTier, SiluGluKernel } from '../types.js';

interface NativeAddon {
  gemm(codes: Uint8Array, rows: number, cols: number, x: Int8Array, batch: number, groupCols: number, out: Int32Array, threads: number): void;
  /** The codes in the layout the active kernel reads (AVX-512 VNNI: interleaved by 16 rows). */
  prepare(codes: Uint8Array, rows: number, cols: number): Uint8Array;
  /** The active kernel's layout made in place: 0 it reads the codes as they are ('rows'), 1 converted to 'rows16', 2 rows not a multiple of 16 (use prepare). */
  prepareInPlace(codes: Uint8Array, rows: number, cols: number): 0 | 1 | 2;
  /** Packed weight bytes prepared (+) or collected (-): the working set by which the VNNI GEMV picks stream or tile. */
  weightBytes(delta: number): void;
  /** 0 chooses by working set, 1 forces the stream, 2 the tile; returns the GEMV a batch-1 call runs now (VNNI; other paths ignore it). */
  gemvPath(choice?: 0 | 1 | 2): 'stream' | 'tile';
  gemvHalf: GemvHalfKernel;
  gemvHalfGgml(w: Uint16Array, rows: number, cols: number, x: Float32Array, out: Float32Array, variant: 0 | 1 | 2, threads: number): void;
  attention: AttentionKernel;
  siluGlu: SiluGluKernel;
  /** cosf and sinf of the C library (llama.cpp's RoPE takes its cos and sin from them). */
  cosSinF(theta: Float32Array, cos: Float32Array, sin: Float32Array): void;
  features(): string;
  /** C = op(A) op(B), row-major float32, batched (batchA / batchB of 1 broadcast); sgemm.c. */
  sgemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transposeA: number,
    transposeB: number,
    threads: number,
  ): void;
  /** One AdamW update into wOut, mOut, vOut; h = [lr, b1, b2, bias correction 1, bias correction 2, eps, decay, gradient scale]; adamw.c. */
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, wOut: Float32Array, mOut: Float32Array, vOut: Float32Array, h: Float64Array): void;
  /** The instruction set sgemm runs: avx512, avx2 or scalar. */
  sgemmPath(): string;
  /** One fused training kernel (train.c: op codes, arrays, dims and params per op). */
  train(op: number, arrays: Float32Array[], dims: Int32Array, params: Float64Array, threads: number): void;
  /** The instruction set the training kernels run: avx512, avx2 or scalar. */
  trainPath(): string;
}

export const NATIVE_PATH = (): string => join(packageRoot(), 'build', 'ternary.node');

/** The native N-API tier (AVX-512 VNNI / AVX-VNNI / AVX2, ARM64 I8MM / dotprod / NEON, portable C; chosen at load): zero-copy, threaded; GEMM, F16 GEMV (also in ggml's order), decode attention, SiLU-GLU. */
export function nativeTier(addon: NativeAddon): KernelTier {
  const collected = new FinalizationRegistry<number>((bytes) => addon.weightBytes(-bytes));
  /** Counts the codes a kernel will read in the addon's working set until they are collected. */
  const count = (codes: Uint8Array): Uint8Array => {
    addon.weightBytes(codes.byteLength);
    collected.register(codes, codes.byteLength);
    return codes;
  };
  return {
    name: 'native',
    detail: addon.features(),
    ternary: {
      upload: (codes, rows, paddedCols) => ({ codes: count(addon.prepare(codes, rows, paddedCols)), tier: 'native' }),
      uploadCodes: (codes, rows, paddedCols) => {
        if (codes.layout === 'rows16') {
          if (addon.features() !== 'scalar') return { codes: count(codes.bytes), tier: 'native' };
          return { codes: count(addon.prepare(rowsLayoutCodes(codes, [rows, paddedCols]), rows, paddedCols)), tier: 'native' };
        }
        const done = addon.prepareInPlace(codes.bytes, rows, paddedCols);
        if (done === 1) codes.layout = 'rows16';
        return { codes: count(done === 2 ? addon.prepare(codes.bytes, rows, paddedCols) : codes.bytes), tier: 'native' };
      },
      release: () => {},
      gemm: (weights, s) => addon.gemm(weights.codes, s.rows, s.paddedCols, s.x, s.batch, s.groupCols, s.out, s.threads ?? 1),
    },
    gemvHalf: addon.gemvHalf.bind(addon),
    ggmlGemvHalf: (w, rows, cols, x, out, path, threads) => addon.gemvHalfGgml(w, rows, cols, x, out, path === 'avx512' ? 0 : path === 'avx2' ? 1 : 2, threads),
    attention: addon.attention.bind(addon),
    siluGlu: addon.siluGlu.bind(addon),
  };
}

let loaded: KernelTier | null | undefined;
let addonLoaded: NativeAddon | undefined;

let cosSin: NativeAddon['cosSinF'] | undefined;

/** The C library's cosf and sinf through the native addon, when it is built; undefined otherwise. */
export function libmCosSin(): NativeAddon['cosSinF'] | undefined {
  if (cosSin === undefined && loadNativeTier() !== null && typeof addonLoaded?.cosSinF === 'function') cosSin = addonLoaded.cosSinF.bind(addonLoaded);
  return cosSin;
}

/** The addon's float32 GEMM and the path it runs, when the addon is built; undefined otherwise. */
export function nativeSgemm(): { sgemm: NativeAddon['sgemm']; path: string } | undefined {
  if (loadNativeTier() === null || typeof addonLoaded?.sgemm !== 'function') return undefined;
  return { sgemm: addonLoaded.sgemm.bind(addonLoaded), path: addonLoaded.sgemmPath() };
}

/**
 * The GEMV a batch-1 call of the VNNI path runs now ('stream' or 'tile'), after forcing it when
 * `choice` is given (0: by the working set of uploaded weights, 1: stream, 2: tile); undefined
 * without the addon.
 */
export function nativeGemvPath(choice?: 0 | 1 | 2): 'stream' | 'tile' | undefined {
  if (loadNativeTier() === null || typeof addonLoaded?.gemvPath !== 'function') return undefined;
  return addonLoaded.gemvPath(choice);
}

/** The addon's one-pass AdamW update, when the addon is built; undefined otherwise. */
export function nativeAdamW(): NativeAddon['adamw'] | undefined {
  if (loadNativeTier() === null || typeof addonLoaded?.adamw !== 'function') return undefined;
  return addonLoaded.adamw.bind(addonLoaded);
}

/** The addon's fused training kernels and the path they run, when the addon is built; undefined otherwise. */
export function nativeTraining(): { train: NativeAddon['train']; path: string } | undefined {
  if (loadNativeTier() === null || typeof addonLoaded?.train !== 'function') return undefined;
  return { train: addonLoaded.train.bind(addonLoaded), path: addonLoaded.trainPath() };
}

/**
 * The native tier, or null when it was not built (no compiler, BITNET_NO_NATIVE=1) or does not
 * load. A `nativeIsa` setting the CPU cannot run is an error, not a silent fallback.
 */
export function loadNativeTier(): KernelTier | null {
  if (loaded !== undefined) return loaded;
  const isa = settings().nativeIsa;
  // the addon reads the variable when it loads
  if (isa !== undefined) process.env.BITNET_NATIVE_ISA = isa;
  try {
    addonLoaded = existsSync(NATIVE_PATH()) ? (createRequire(import.meta.url)(NATIVE_PATH()) as NativeAddon) : undefined;
    loaded = addonLoaded === undefined ? null : nativeTier(addonLoaded);
  } catch {
    loaded = null;
  }
  if (loaded !== null && isa !== undefined && loaded.detail !== isa) {
    throw new BitNetError('BACKEND_UNAVAILABLE', `BITNET_NATIVE_ISA=${isa}, but the native kernels run ${loaded.detail} on this CPU`, {
      field: 'BITNET_NATIVE_ISA',
      hint: 'this CPU lacks the instructions; ask for a lower path (x86-64: avx-vnni, avx2, scalar; ARM64: dotprod, neon, scalar) or unset it',
    });
  }
  return loaded;
}
