import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { GemmShape, KernelTier, TernaryGemmKernel, UploadedCodes } from '../types.js';
import { WasmAllocator } from './allocator.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  gemm(codes: number, rows: number, cols: number, x16: number, xsum: number, batch: number, groupCols: number, out: number): void;
}

export const WASM_PATH = (): string => join(packageRoot(), 'build', 'ternary.wasm');

/** The WebAssembly SIMD128 GEMM: packed codes live in the module's memory; x and out are copied per call. */
class WasmGemm implements TernaryGemmKernel {
  private readonly exports: KernelExports;
  private readonly allocator: WasmAllocator;
  private scratch = { offset: 0, bytes: 0 };

  constructor(bytes: Uint8Array) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    this.exports = instance.exports as unknown as KernelExports;
    this.allocator = new WasmAllocator(this.exports.memory);
  }

  upload(codes: Uint8Array): UploadedCodes {
    const offset = this.allocator.alloc(codes.length);
    new Uint8Array(this.exports.memory.buffer, offset, codes.length).set(codes);
    return { codes, tier: 'wasm', offset };
  }

  release(weights: UploadedCodes): void {
    if (weights.offset !== undefined) this.allocator.free(weights.offset);
  }

  gemm(weights: UploadedCodes, { rows, paddedCols, x, batch, groupCols, out }: GemmShape): void {
    const groups = paddedCols / groupCols;
    const align = (n: number): number => Math.ceil(n / 64) * 64;
    const need = align(x.length * 2) + align(batch * groups * 4) + out.length * 4;
    if (need > this.scratch.bytes) {
      if (this.scratch.bytes > 0) this.allocator.free(this.scratch.offset);
      this.scratch = { offset: this.allocator.alloc(need * 2), bytes: need * 2 };
    }
    const xOffset = this.scratch.offset;
    const sumOffset = xOffset + align(x.length * 2);
    const outOffset = sumOffset + align(batch * groups * 4);
    // The kernel reads int16 activations (widened once here, not once per weight row) and the
    // per-group sums of x (it multiplies codes 0/1/2 and subtracts these).
    new Int16Array(this.exports.memory.buffer, xOffset, x.length).set(x);
    const sums = new Int32Array(this.exports.memory.buffer, sumOffset, batch * groups);
    for (let b = 0; b < batch; b++) {
      for (let g = 0; g < groups; g++) {
        let s = 0;
        for (let k = b * paddedCols + g * groupCols, end = k + groupCols; k < end; k++) s += x[k] as number;
        sums[b * groups + g] = s;
      }
    }
    this.exports.gemm(weights.offset as number, rows, paddedCols, xOffset, sumOffset, batch, groupCols, outOffset);
    out.set(new Int32Array(this.exports.memory.buffer, outOffset, out.length));
  }
}

let loaded: KernelTier | null | undefined;

/** The wasm tier (ternary GEMM only), or null when build/ternary.wasm is missing or the engine lacks SIMD. */
export function loadWasmTier(): KernelTier | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = { name: 'wasm', detail: 'simd128', ternary: new WasmGemm(readFileSync(WASM_PATH())) };
  } catch {
    loaded = null;
  }
  return loaded;
}
