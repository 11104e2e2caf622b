import { describe, expect, it } from 'vitest';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { loadNativeTier } from '../../src/kernels/native/tier.js';
import { resolveKernels } from '../../src/kernels/registry.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';

const native = loadNativeTier();

describe.runIf(native !== null)('native tier (attention, F16 head, GEMM) against the reference tier', () => {
  // GQA (8 query heads on 2 KV heads), 40 positions. BitNet numerics: the C attention repeats the
  // TypeScript sums in the same order and precision, so only exp() (glibc vs V8) may differ, in the
  // last bits. llama.cpp numerics take only the integer GEMM from the tier: equal to the bit.
  const config = {
    vocabSize: 50,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 8,
    numKvHeads: 2,
    contextLength: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  };
  const weights = randomBitnetWeights(config, 3, { weightStd: 0.3, embeddingStd: 0.5 });
  for (const numerics of ['bitnet', 'llama.cpp'] as const) {
    it(`gives the TypeScript logits in ${numerics} numerics`, () => {
      const a = new BitnetRunner(weights, numerics, { kernels: resolveKernels('native') });
      const b = new BitnetRunner(weights, numerics, { kernels: resolveKernels('reference') });
      let worst = 0;
      for (let t = 0; t < 40; t++) {
        const token = (t * 7) % config.vocabSize;
        const la = a.forward(token);
        const lb = b.forward(token);
        for (let i = 0; i < la.length; i++) worst = Math.max(worst, Math.abs((la[i] as number) - (lb[i] as number)) / (1 + Math.abs(lb[i] as number)));
      }
      if (numerics === 'llama.cpp') expect(worst).toBe(0);
      else expect(worst).toBeLessThan(1e-5);
      expect(a.greedy([1, 2, 3], 16)).toEqual(b.greedy([1, 2, 3], 16));
    });
  }

  it('splits the heads over threads with the same values, bit for bit, and matches the reference', () => {
    const tier = native as NonNullable<typeof native>;
    const reference = resolveKernels('reference');
    const heads = 12;
    const kvHeads = 4;
    const hd = 64;
    const pos = 70;
    const noise = (i: number): number => Math.sin(i * 12.9898) * 0.7;
    const q = Float32Array.from({ length: heads * hd }, (_, i) => noise(i + 1));
    const k = Float32Array.from({ length: (pos + 1) * kvHeads * hd }, (_, i) => noise(i + 5000));
    const v = Float32Array.from({ length: (pos + 1) * kvHeads * hd }, (_, i) => noise(i + 90000));
    const run = (threads: number | undefined): Float32Array => {
      const out = new Float32Array(heads * hd);
      (tier.attention as NonNullable<typeof tier.attention>)(q, k, v, pos, heads, kvHeads, hd, out, threads);
      return out;
    };
    const one = run(undefined);
    for (const threads of [1, 2, 3, 5]) expect(Array.from(run(threads))).toEqual(Array.from(one));
    const want = new Float32Array(heads * hd);
    reference.attention(q, k, v, pos, heads, kvHeads, hd, want);
    for (let i = 0; i < want.length; i++)
      expect(Math.abs((one[i] as number) - (want[i] as number))).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[i] as number)));
  });
});
