import { BitNetError } from '../../errors.js';

/**
 * WGSL ternary x int8 GEMM on this project's packed layout (TQ2_0 `qs` order, rows padded to 256):
 * one workgroup of 64 invocations per (row, batch row); each invocation takes every 64th 32-bit
 * word of the row (16 weights), multiplies the 2-bit codes with the int activations and the
 * workgroup sums in shared memory. Groups of 128 columns or more are supported (a word's 16
 * weights lie in one 128-column half block). Results are exact int32, as every tier's.
 */
export const TERNARY_WGSL = /* wgsl */ `
struct Shape { rows: u32, words: u32, batch: u32, groups: u32, halvesPerGroup: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> codes: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
@group(0) @binding(3) var<uniform> shape: Shape;
var<workgroup> partial: array<i32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  let b = wg.y;
  let g = wg.z;
  // words of this group: half blocks [g * halvesPerGroup, (g + 1) * halvesPerGroup), 8 words each
  let firstWord = g * shape.halvesPerGroup * 8u;
  let lastWord = firstWord + shape.halvesPerGroup * 8u;
  var acc: i32 = 0;
  for (var w = firstWord + lid; w < lastWord; w = w + 64u) {
    let word = codes[row * shape.words + w];
    let byteBase = w * 4u;            // byte offset in the row
    let blk = byteBase / 64u;
    let o = byteBase % 64u;
    let hb = o / 32u;
    let m0 = o % 32u;
    let colBase = blk * 256u + hb * 128u + m0;
    let xb = b * shape.cols;
    for (var k = 0u; k < 4u; k = k + 1u) {
      let byte = (word >> (8u * k)) & 255u;
      for (var j = 0u; j < 4u; j = j + 1u) {
        let q = i32((byte >> (2u * j)) & 3u) - 1;
        acc = acc + q * x[xb + colBase + k + 32u * j];
      }
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[(b * shape.rows + row) * shape.groups + g] = partial[0]; }
}
`;

/* Minimal WebGPU types (the `webgpu` package provides the implementation; @webgpu/types is not needed). */
interface GpuBuffer {
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuDevice {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBuffer } }[] }): unknown;
  createCommandEncoder(): {
    beginComputePass(): { setPipeline(p: unknown): void; setBindGroup(i: number, g: unknown): void; dispatchWorkgroups(x: number, y: number, z: number): void; end(): void };
    copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void;
    finish(): unknown;
  };
  queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void; submit(c: unknown[]): void };
}

const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;

/** The WGSL kernel on a WebGPU device: weights uploaded once, activations and results per call. */
export class WebGpuTernary {
  private readonly pipeline: ReturnType<GpuDevice['createComputePipeline']>;

  constructor(private readonly device: GpuDevice) {
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: TERNARY_WGSL }), entryPoint: 'main' } });
  }

  private buffer(data: ArrayBufferView, usage: number): GpuBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
    const buf = this.device.createBuffer({ size, usage: usage | USAGE.COPY_DST });
    const bytes = new Uint8Array(size);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(buf, 0, bytes);
    return buf;
  }

  upload(codes: Uint8Array): GpuBuffer {
    return this.buffer(codes, USAGE.STORAGE);
  }

  /** out[b][r][g] = sum over group g of q[r][k] * x[b][k] (see src/kernels/types.ts). */
  /** `repeat` > 1 dispatches the same product that many times in one submission (for timing). */
  async gemm(weights: GpuBuffer, rows: number, paddedCols: number, x: Int8Array, batch: number, groupCols: number, repeat = 1): Promise<Int32Array> {
    if (groupCols % 128 !== 0 || paddedCols % groupCols !== 0) {
      throw new BitNetError('UNSUPPORTED', `the WGSL kernel needs groups of a multiple of 128 columns, got ${groupCols}`, { field: 'groupCols' });
    }
    const groups = paddedCols / groupCols;
    const xs = this.buffer(Int32Array.from(x), USAGE.STORAGE);
    const outBytes = batch * rows * groups * 4;
    const out = this.device.createBuffer({ size: Math.max(16, outBytes), usage: USAGE.STORAGE | USAGE.COPY_SRC });
    const read = this.device.createBuffer({ size: Math.max(16, outBytes), usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const uniform = this.buffer(Uint32Array.of(rows, paddedCols / 16, batch, groups, groupCols / 128, paddedCols, 0, 0), USAGE.UNIFORM);
    const bind = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [weights, xs, out, uniform].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < repeat; i++) pass.dispatchWorkgroups(rows, batch, groups);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, read, 0, Math.max(16, outBytes));
    this.device.queue.submit([encoder.finish()]);
    await read.mapAsync(USAGE.MAP_READ);
    const result = new Int32Array(read.getMappedRange().slice(0, outBytes));
    read.unmap();
    for (const b of [xs, out, read, uniform]) b.destroy();
    return result;
  }
}

const instances: unknown[] = [];

/** A WebGPU device from Dawn (`webgpu` package); null with the reason when there is none. */
export async function openWebGpuDevice(flags: string[] = (process.env.BITNET_WEBGPU_FLAGS ?? '').split(',').filter((f) => f !== '')): Promise<{ device: GpuDevice; adapter: string } | { device: null; reason: string }> {
  let dawn: { create(flags: string[]): { requestAdapter(o?: Record<string, unknown>): Promise<{ info?: { description?: string; vendor?: string }; requestDevice(): Promise<GpuDevice> } | null> }; globals: object };
  try {
    const specifier = 'webgpu';
    dawn = (await import(specifier)) as typeof dawn;
  } catch (cause) {
    return { device: null, reason: `the optional package 'webgpu' is not installed (${(cause as Error).message.split('\n')[0]})` };
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(flags);
  // The Dawn instance must outlive its devices: collected early, it takes them down (a segfault).
  instances.push(gpu);
  const adapter = (await gpu.requestAdapter({ featureLevel: 'compatibility' })) ?? (await gpu.requestAdapter());
  if (adapter === null) return { device: null, reason: 'no WebGPU adapter (Dawn found no Vulkan or OpenGL device)' };
  return { device: await adapter.requestDevice(), adapter: adapter.info?.description ?? adapter.info?.vendor ?? 'unknown' };
}
