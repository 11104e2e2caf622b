import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { GemmShape, KernelTier, UploadedCodes } from '../types.js';
import { WasmAllocator } from './allocator.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  gemm(codes: number, rows: number, cols: number, x: number, batch: number, groupCols: number, out: number): void;
}

export const WASM_PATH = (): string => join(packageRoot(), 'build', 'ternary.wasm');

/** The WebAssembly SIMD128 tier: packed codes live in the module's memory; x and out are copied per call. */
export class WasmTier implements KernelTier {
  readonly name = 'wasm' as const;
  readonly detail = 'simd128';
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
    return { codes, tier: this.name, offset };
  }

  release(weights: UploadedCodes): void {
    if (weights.offset !== undefined) this.allocator.free(weights.offset);
  }

  gemm(weights: UploadedCodes, { rows, paddedCols, x, batch, groupCols, out }: GemmShape): void {
    const need = x.length + out.length * 4;
    if (need > this.scratch.bytes) {
      if (this.scratch.bytes > 0) this.allocator.free(this.scratch.offset);
      this.scratch = { offset: this.allocator.alloc(need * 2), bytes: need * 2 };
    }
    const xOffset = this.scratch.offset;
    const outOffset = xOffset + Math.ceil(x.length / 64) * 64;
    new Int8Array(this.exports.memory.buffer, xOffset, x.length).set(x);
    this.exports.gemm(weights.offset as number, rows, paddedCols, xOffset, batch, groupCols, outOffset);
    out.set(new Int32Array(this.exports.memory.buffer, outOffset, out.length));
  }
}

let loaded: WasmTier | null | undefined;

/** The wasm tier, or null when build/ternary.wasm is missing or the engine lacks SIMD. */
export function loadWasmTier(): WasmTier | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = new WasmTier(readFileSync(WASM_PATH()));
  } catch {
    loaded = null;
  }
  return loaded;
}
