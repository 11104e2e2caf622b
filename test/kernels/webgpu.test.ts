// The WGSL kernels against the TypeScript oracle and the CPU layer. On machines without a GPU (CI),
// Dawn's OpenGL backend on Mesa's llvmpipe gives a software adapter (EGL_PLATFORM=surfaceless).
import { describe, expect, it } from 'vitest';
import { referenceGemm } from '../../src/kernels/reference.js';
import { resolveKernels } from '../../src/kernels/registry.js';
import { TernaryLinear } from '../../src/kernels/ternary-linear.js';
import { openWebGpuDevice, WebGpuTernary, type GpuDevice } from '../../src/kernels/webgpu/ternary-wgsl.js';
import { packTernary2, paddedRowLength } from '../../src/quant/pack.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { configure } from '../../src/settings.js';
import { SeededRandom } from '../../src/util/random.js';
import { tieRows } from '../helpers/ties.js';

process.env.EGL_PLATFORM ??= 'surfaceless';
if (process.env.BITNET_WEBGPU_FLAGS === undefined) configure({ webgpuFlags: ['backend=opengl'] });
const opened = await openWebGpuDevice();
if (opened.device === null) {
  if (process.env.BITNET_REQUIRE_WEBGPU === '1') throw new Error(`no WebGPU device: ${opened.reason}`);
  console.warn(`SKIPPED: WGSL kernel tests — ${opened.reason}`);
} else {
  console.log(`WGSL kernel tests run on: ${opened.adapter}`);
}

describe.runIf(opened.device !== null)('WGSL ternary kernels', () => {
  const gpu = (): WebGpuTernary => new WebGpuTernary(opened.device as GpuDevice);

  for (const kernel of ['gemv', 'tiled', 'split-k'] as const) {
    it(`${kernel}: equals the oracle exactly (shapes not multiples of 256, batches 1..40, group sizes, extreme activations)`, async () => {
      const g = gpu();
      const rng = new SeededRandom(kernel.length + 10);
      for (let trial = 0; trial < 10; trial++) {
        const rows = 1 + rng.int(trial % 2 === 0 ? 40 : 80);
        const cols = 1 + rng.int(trial % 2 === 0 ? 700 : 1500);
        const batch = 1 + rng.int(trial % 3 === 0 ? 40 : 9);
        const paddedCols = paddedRowLength(cols);
        const q = Int8Array.from({ length: rows * cols }, () => rng.int(3) - 1);
        const codes = packTernary2(q, [rows, cols]);
        const x = new Int8Array(batch * paddedCols);
        for (let b = 0; b < batch; b++)
          for (let k = 0; k < cols; k++) x[b * paddedCols + k] = trial % 4 === 0 ? (rng.int(2) === 0 ? -128 : 127) : rng.int(256) - 128;
        const choices = kernel === 'split-k' ? [paddedCols] : [paddedCols, 256, ...(kernel === 'gemv' ? [128] : [])].filter((c) => paddedCols % c === 0);
        const groupCols = choices[rng.int(choices.length)] as number;
        const want = new Int32Array(batch * rows * (paddedCols / groupCols));
        referenceGemm(codes, { rows, paddedCols, x, batch, groupCols, out: want });
        const weights = g.upload(codes);
        const got = await g.gemm(weights, rows, paddedCols, x, batch, groupCols, { kernel });
        weights.destroy();
        expect(got, `rows ${rows} cols ${cols} batch ${batch} groups of ${groupCols}`).toEqual(want);
      }
    }, 120_000);
  }

  it('linear: GPU activation quantization (exact ties included) and the float epilogue equal TernaryLinear on the CPU bit for bit', async () => {
    const g = gpu();
    const rng = new SeededRandom(21);
    for (const [rows, inF, batch, kind] of [
      [37, 300, 1, 'normal'],
      [64, 512, 9, 'normal'],
      [20, 1000, 33, 'wide'],
      [5, 256, 4, 'zero'],
      [24, 384, 6, 'ties'],
    ] as const) {
      const latent = Float32Array.from({ length: rows * inF }, () => rng.normal() * 0.05);
      const w = quantizeWeights(latent, [rows, inF]);
      const x =
        kind === 'ties'
          ? tieRows(batch, inF, rng)
          : Float32Array.from({ length: batch * inF }, (_, i) =>
              kind === 'zero' && i < inF ? 0 : rng.normal() * (kind === 'wide' ? 10 ** (rng.int(7) - 3) : 1),
            );
      const want = new TernaryLinear(w, { kernels: resolveKernels('reference') }).forward(x, batch);
      for (const kernel of ['gemv', 'tiled', 'split-k'] as const) {
        const layer = g.uploadLinear(packTernary2(w.values, w.shape), rows, inF, w.scales[0] as number);
        const xb = g.uploadFloats(x);
        const yb = g.linear(layer, xb, batch, { kernel });
        const got = new Float32Array(await g.read(yb, batch * rows * 4));
        for (const b of [xb, yb, layer.codes]) b.destroy();
        expect(got, `${kernel} rows ${rows} in ${inF} batch ${batch} ${kind}`).toEqual(want);
      }
    }
  }, 120_000);
});
