// BitnetRunner with its projections on the WGSL kernels gives the CPU's logits exactly (BitNet
// numerics). Without a GPU (CI), Dawn's OpenGL backend on Mesa llvmpipe is the device.
import { describe, expect, it } from 'vitest';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { generate } from '../../src/inference/generate.js';
import { GpuProjections } from '../../src/inference/gpu-projections.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';

process.env.EGL_PLATFORM ??= 'surfaceless';
process.env.BITNET_WEBGPU_FLAGS ??= 'backend=opengl';
const config = {
  vocabSize: 60,
  hiddenSize: 256,
  intermediateSize: 768,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 48,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
};
const weights = randomBitnetWeights(config, 4, { weightStd: 0.3, embeddingStd: 0.5 });
const gpu = await GpuProjections.open(weights).catch((e: unknown) => {
  if (process.env.BITNET_REQUIRE_WEBGPU === '1') throw e;
  console.warn(`SKIPPED: generation on WebGPU — ${(e as Error).message}`);
  return undefined;
});

describe.runIf(gpu !== undefined)('generation with projections on WebGPU', () => {
  it('forwardAsync on the GPU equals forward on the CPU kernels, logit for logit', async () => {
    const cpu = new BitnetRunner(weights, 'bitnet');
    const onGpu = new BitnetRunner(weights, 'bitnet', { gpu: gpu as GpuProjections });
    for (let t = 0; t < 12; t++) {
      const token = (t * 11) % config.vocabSize;
      expect(await onGpu.forwardAsync(token)).toEqual(cpu.forward(token));
    }
  }, 120_000);

  it('generate() is the same text, greedy and sampled, including a context shift', async () => {
    for (const opts of [{ maxTokens: 60 }, { maxTokens: 20, temperature: 0.9, topK: 10, seed: 3 }]) {
      const a = await generate(new BitnetRunner(weights, 'bitnet'), [1, 2, 3], opts);
      const b = await generate(new BitnetRunner(weights, 'bitnet', { gpu: gpu as GpuProjections }), [1, 2, 3], opts);
      expect(b.tokens).toEqual(a.tokens);
    }
  }, 120_000);
});
