import { BitNetError } from '../errors.js';
import type { GpuTernaryLinear, WebGpuTernary } from '../kernels/webgpu/ternary-wgsl.js';
import { openWebGpuTier } from '../kernels/webgpu/tier.js';
import { PROJECTIONS, type Projection } from '../models/bitnet/config.js';
import { type BitnetLmWeights } from '../models/bitnet/weights.js';
import { packTernary2 } from '../quant/pack.js';
import { rowsLayoutCodes } from '../quant/packed-codes.js';
import type { ProjectionDevice } from './bitnet-forward.js';

/**
 * A BitNet LM's ternary projections on a WebGPU device: every weight uploaded once, packed; per
 * request the input row goes up, each projection is quantized and multiplied by the WGSL kernels
 * (per-token int8, as TernaryLinear computes on the CPU, so results are identical), and only the
 * outputs come back, in one read.
 */
export class GpuProjections implements ProjectionDevice {
  private readonly layers: Record<Projection, GpuTernaryLinear>[];

  constructor(
    private readonly kernels: WebGpuTernary,
    weights: BitnetLmWeights,
    readonly adapter: string,
  ) {
    this.layers = weights.layers.map((l) => {
      const entries = PROJECTIONS.map((p) => {
        const w = l.proj[p];
        if (w.groupSize !== 'tensor')
          throw new BitNetError('UNSUPPORTED', `the WGSL path takes per-tensor weight scales; ${p} has groups of ${w.groupSize}`, { field: p });
        const codes = w.packedCodes === undefined ? packTernary2(w.values, w.shape) : rowsLayoutCodes(w.packedCodes, w.shape);
        return [p, kernels.uploadLinear(codes, w.shape[0], w.shape[1], w.scales[0] as number)] as const;
      });
      return Object.fromEntries(entries) as Record<Projection, GpuTernaryLinear>;
    });
  }

  /** Opens the webgpu tier (Dawn; the webgpuFlags setting picks its backend) and uploads the weights. */
  static async open(weights: BitnetLmWeights): Promise<GpuProjections> {
    const opened = await openWebGpuTier();
    if (opened.tier === null)
      throw new BitNetError('BACKEND_UNAVAILABLE', `no WebGPU device: ${opened.reason}`, {
        field: 'backend',
        hint: 'install the optional package webgpu; without a GPU, BITNET_WEBGPU_FLAGS=backend=opengl EGL_PLATFORM=surfaceless uses Mesa llvmpipe',
      });
    return new GpuProjections(opened.tier.kernels, weights, opened.tier.detail);
  }

  async project(layer: number, projections: readonly Projection[], x: Float32Array, rows: number): Promise<Float32Array[]> {
    const weights = this.layers[layer] as Record<Projection, GpuTernaryLinear>;
    const input = this.kernels.uploadFloats(x);
    const outs = projections.map((p) => this.kernels.linear(weights[p], input, rows));
    const data = await this.kernels.readMany(outs.map((buffer, i) => ({ buffer, bytes: rows * weights[projections[i] as Projection].rows * 4 })));
    for (const b of [input, ...outs]) b.destroy();
    return data.map((d) => new Float32Array(d));
  }

  dispose(): void {
    for (const l of this.layers) for (const p of PROJECTIONS) l[p].codes.destroy();
  }
}
