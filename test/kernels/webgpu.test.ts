// The WGSL kernel against the TypeScript oracle. On machines without a GPU (CI), Dawn's OpenGL
// backend on Mesa's llvmpipe gives a software adapter (EGL_PLATFORM=surfaceless).
import { describe, expect, it } from 'vitest';
import { referenceGemm } from '../../src/kernels/reference.js';
import { openWebGpuDevice, WebGpuTernary } from '../../src/kernels/webgpu/ternary-wgsl.js';
import { packTernary2, paddedRowLength } from '../../src/quant/pack.js';
import { SeededRandom } from '../../src/util/random.js';

process.env.EGL_PLATFORM ??= 'surfaceless';
const opened = await openWebGpuDevice(process.env.BITNET_WEBGPU_FLAGS !== undefined ? undefined : ['backend=opengl']);
if (opened.device === null) {
  if (process.env.BITNET_REQUIRE_WEBGPU === '1') throw new Error(`no WebGPU device: ${opened.reason}`);
  console.warn(`SKIPPED: WGSL kernel tests — ${opened.reason}`);
} else {
  console.log(`WGSL kernel tests run on: ${opened.adapter}`);
}

describe.runIf(opened.device !== null)('WGSL ternary kernel', () => {
  it('equals the oracle exactly: shapes not multiples of 256, batches 1..9, group sizes 128/256/whole rows, extreme activations', async () => {
    const gpu = new WebGpuTernary(opened.device as ConstructorParameters<typeof WebGpuTernary>[0]);
    const rng = new SeededRandom(12);
    for (let trial = 0; trial < 12; trial++) {
      const rows = 1 + rng.int(40);
      const cols = 1 + rng.int(700);
      const batch = 1 + rng.int(trial % 3 === 0 ? 40 : 9);
      const paddedCols = paddedRowLength(cols);
      const q = Int8Array.from({ length: rows * cols }, () => rng.int(3) - 1);
      const codes = packTernary2(q, [rows, cols]);
      const x = new Int8Array(batch * paddedCols);
      for (let b = 0; b < batch; b++) for (let k = 0; k < cols; k++) x[b * paddedCols + k] = trial % 4 === 0 ? (rng.int(2) === 0 ? -128 : 127) : rng.int(256) - 128;
      const choices = [paddedCols, 128, 256].filter((g) => paddedCols % g === 0);
      const groupCols = choices[rng.int(choices.length)] as number;
      const want = new Int32Array(batch * rows * (paddedCols / groupCols));
      referenceGemm(codes, { rows, paddedCols, x, batch, groupCols, out: want });
      const weights = gpu.upload(codes);
      const got = await gpu.gemm(weights, rows, paddedCols, x, batch, groupCols);
      weights.destroy();
      expect(got, `rows ${rows} cols ${cols} batch ${batch} groups of ${groupCols}`).toEqual(want);
    }
  }, 120_000);
});
