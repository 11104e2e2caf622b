import { BitNetError } from '../../errors.js';
import { integerRange } from '../../quant/activation.js';
import { paddedRowLength } from '../../quant/pack.js';
import { DEFAULT_EPS } from '../../quant/weight.js';
import { USAGE, type GpuBuffer, type GpuDevice } from './device.js';
import { GEMM_TILES, gemmWgsl, GEMV_WGSL, type GemmTile } from './gemm-wgsl.js';
import { QUANTIZE_WGSL } from './quantize-wgsl.js';

export { openWebGpuDevice, type GpuBuffer, type GpuDevice } from './device.js';

export type WgslKernel = 'auto' | 'gemv' | 'tiled' | 'split-k';

/** A ternary linear layer whose packed weights live on the GPU (per-tensor beta, per-token int8 activations). */
export interface GpuTernaryLinear {
  readonly codes: GpuBuffer;
  readonly rows: number;
  readonly inFeatures: number;
  readonly paddedCols: number;
  readonly beta: number;
  readonly activationBits: number;
  readonly eps: number;
}

/**
 * From this batch on a tiled kernel runs: split-K for whole rows (fastest at batch 8 and 32 on an
 * H200, bench/results/gpu.md), the 32x32 tile for weights with scale groups; gemv below.
 */
const TILED_FROM_BATCH = 4;

type Pipeline = ReturnType<GpuDevice['createComputePipeline']>;

/** The WGSL kernels on one WebGPU device: weights uploaded once; activations quantized and multiplied on the GPU. */
export class WebGpuTernary {
  private readonly gemv: Pipeline;
  private readonly tiled: Pipeline;
  private readonly splitK: Pipeline;
  private readonly quantizer: Pipeline;

  constructor(private readonly device: GpuDevice) {
    const pipeline = (code: string): Pipeline =>
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    this.gemv = pipeline(GEMV_WGSL);
    this.tiled = pipeline(gemmWgsl(GEMM_TILES.wide));
    this.splitK = pipeline(gemmWgsl(GEMM_TILES.splitK));
    this.quantizer = pipeline(QUANTIZE_WGSL);
  }

  private buffer(data: ArrayBufferView, usage: number): GpuBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
    const buf = this.device.createBuffer({ size, usage: usage | USAGE.COPY_DST });
    const bytes = new Uint8Array(size);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(buf, 0, bytes);
    return buf;
  }

  private scratch(bytes: number, usage = USAGE.STORAGE | USAGE.COPY_SRC): GpuBuffer {
    return this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
  }

  upload(codes: Uint8Array): GpuBuffer {
    return this.buffer(codes, USAGE.STORAGE);
  }

  /** Packed codes of a [rows, inFeatures] ternary weight (TQ2_0 order, rows padded to 256) with its beta. */
  uploadLinear(codes: Uint8Array, rows: number, inFeatures: number, beta: number, opts: { activationBits?: number; eps?: number } = {}): GpuTernaryLinear {
    const paddedCols = paddedRowLength(inFeatures);
    if (codes.length !== (rows * paddedCols) / 4)
      throw new BitNetError('INVALID_SHAPE', `codes hold ${codes.length} bytes, a [${rows}, ${inFeatures}] weight needs ${(rows * paddedCols) / 4}`, {
        field: 'codes',
      });
    return { codes: this.upload(codes), rows, inFeatures, paddedCols, beta, activationBits: opts.activationBits ?? 8, eps: opts.eps ?? DEFAULT_EPS };
  }

  private shape(rows: number, paddedCols: number, batch: number, groupCols: number, mode: 0 | 1): GpuBuffer {
    return this.buffer(Uint32Array.of(rows, paddedCols / 16, batch, paddedCols / groupCols, groupCols / 16, paddedCols / 4, mode, 0), USAGE.UNIFORM);
  }

  private encodeProduct(
    pass: ReturnType<ReturnType<GpuDevice['createCommandEncoder']>['beginComputePass']>,
    kernel: Exclude<WgslKernel, 'auto'>,
    buffers: GpuBuffer[],
    rows: number,
    batch: number,
    groups: number,
    repeat: number,
  ): void {
    const pipeline = kernel === 'tiled' ? this.tiled : kernel === 'split-k' ? this.splitK : this.gemv;
    const tile: GemmTile = kernel === 'split-k' ? GEMM_TILES.splitK : GEMM_TILES.wide;
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) }),
    );
    for (let i = 0; i < repeat; i++) {
      if (kernel === 'gemv') pass.dispatchWorkgroups(rows, batch, groups);
      else pass.dispatchWorkgroups(Math.ceil(rows / tile.rows), Math.ceil(batch / tile.batch), 1);
    }
  }

  private choose(kernel: WgslKernel, batch: number, paddedCols: number, groupCols: number): Exclude<WgslKernel, 'auto'> {
    if (kernel === 'tiled' && groupCols % 256 !== 0)
      throw new BitNetError('UNSUPPORTED', `the tiled WGSL kernel needs groups of whole 256-column blocks, got ${groupCols}`, { field: 'groupCols' });
    if (kernel === 'split-k' && groupCols !== paddedCols)
      throw new BitNetError('UNSUPPORTED', 'the split-K WGSL kernel takes whole rows (one group)', { field: 'groupCols' });
    if (kernel !== 'auto') return kernel;
    if (batch < TILED_FROM_BATCH) return 'gemv';
    if (groupCols === paddedCols) return 'split-k';
    return groupCols % 256 === 0 ? 'tiled' : 'gemv';
  }

  /**
   * out[b][r][g] = sum over group g of q[r][k] * x[b][k] (see src/kernels/types.ts), exact int32.
   * `repeat` > 1 dispatches the same product that many times in one submission (for timing).
   */
  async gemm(
    weights: GpuBuffer,
    rows: number,
    paddedCols: number,
    x: Int8Array,
    batch: number,
    groupCols: number,
    opts: { repeat?: number; kernel?: WgslKernel } = {},
  ): Promise<Int32Array> {
    if (groupCols % 128 !== 0 || paddedCols % groupCols !== 0) {
      throw new BitNetError('UNSUPPORTED', `the WGSL kernels need groups of a multiple of 128 columns, got ${groupCols}`, { field: 'groupCols' });
    }
    const kernel = this.choose(opts.kernel ?? 'auto', batch, paddedCols, groupCols);
    const groups = paddedCols / groupCols;
    const outBytes = batch * rows * groups * 4;
    const xs = this.buffer(x, USAGE.STORAGE);
    const out = this.scratch(outBytes);
    const post = this.scratch(16);
    const uniform = this.shape(rows, paddedCols, batch, groupCols, 0);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    this.encodeProduct(pass, kernel, [weights, xs, out, uniform, post], rows, batch, groups, opts.repeat ?? 1);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const result = new Int32Array(await this.read(out, outBytes));
    for (const b of [xs, out, post, uniform]) b.destroy();
    return result;
  }

  /**
   * y = BitLinear's integer inference on the GPU: x [batch, inFeatures] float32 (a GPU buffer) is
   * quantized per token, multiplied by the ternary codes and scaled by beta / s, into a new
   * float32 buffer [batch, rows] (STORAGE | COPY_SRC | COPY_DST, as tfjs-webgpu adopts it by a
   * copy). Nothing is read back.
   */
  linear(layer: GpuTernaryLinear, x: GpuBuffer, batch: number, opts: { kernel?: WgslKernel } = {}): GpuBuffer {
    const { rows, inFeatures, paddedCols } = layer;
    const kernel = this.choose(opts.kernel ?? 'auto', batch, paddedCols, paddedCols);
    const { min, max } = integerRange(layer.activationBits);
    const packed = this.scratch(batch * paddedCols);
    const post = this.scratch(batch * 4);
    const out = this.scratch(batch * rows * 4, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST);
    const q = new DataView(new ArrayBuffer(32));
    q.setUint32(0, inFeatures, true);
    q.setUint32(4, paddedCols / 4, true);
    [layer.beta, layer.eps, max, min].forEach((v, i) => q.setFloat32(8 + 4 * i, v, true));
    const qShape = this.buffer(q, USAGE.UNIFORM);
    const shape = this.shape(rows, paddedCols, batch, paddedCols, 1);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.quantizer);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: this.quantizer.getBindGroupLayout(0),
        entries: [x, packed, post, qShape].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    pass.dispatchWorkgroups(batch, 1, 1);
    this.encodeProduct(pass, kernel, [layer.codes, packed, out, shape, post], rows, batch, 1, 1);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    for (const b of [packed, post, qShape, shape]) b.destroy();
    return out;
  }

  /** Uploads float32 activations [batch, inFeatures] (what tfjs-webgpu tensors already are on the GPU). */
  uploadFloats(x: Float32Array): GpuBuffer {
    return this.buffer(x, USAGE.STORAGE | USAGE.COPY_SRC);
  }

  /** Copies several buffers back to the CPU with one staging buffer and one map. */
  async readMany(parts: { buffer: GpuBuffer; bytes: number }[]): Promise<ArrayBuffer[]> {
    const sizes = parts.map((p) => Math.max(16, Math.ceil(p.bytes / 4) * 4));
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    const staging = this.device.createBuffer({ size: total, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    parts.forEach((p, i) => encoder.copyBufferToBuffer(p.buffer, 0, staging, offsets[i] as number, sizes[i] as number));
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(USAGE.MAP_READ);
    const all = staging.getMappedRange();
    const out = parts.map((p, i) => all.slice(offsets[i] as number, (offsets[i] as number) + p.bytes));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Copies a buffer's first `bytes` back to the CPU. */
  async read(buffer: GpuBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(16, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(USAGE.MAP_READ);
    const data = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return data;
  }
}
