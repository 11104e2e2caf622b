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
