import { dawnGpu, type DawnGpu } from './dawn.js';

/* Minimal WebGPU types (the `webgpu` package or tfjs-webgpu's device provide the implementation). */
export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GpuComputePass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}

export interface GpuDevice {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBuffer } }[] }): unknown;
  createCommandEncoder(): {
    beginComputePass(): GpuComputePass;
    copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void;
    finish(): unknown;
  };
  queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void; submit(c: unknown[]): void };
}

export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;

/** A WebGPU device on the process's Dawn instance; null with the reason when there is none. */
export async function openWebGpuDevice(): Promise<{ device: GpuDevice; adapter: string } | { device: null; reason: string }> {
  let gpu: DawnGpu;
  try {
    gpu = await dawnGpu();
  } catch (cause) {
    return { device: null, reason: `the optional package 'webgpu' is not installed (${(cause as Error).message.split('\n')[0] ?? ''})` };
  }
  const adapter = await gpu.requestAdapter();
  if (adapter === null) return { device: null, reason: 'no WebGPU adapter (Dawn found no Vulkan or OpenGL device)' };
  return { device: (await adapter.requestDevice()) as GpuDevice, adapter: adapter.info?.description ?? adapter.info?.vendor ?? 'unknown' };
}
