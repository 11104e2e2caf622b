// BITNET_KERNEL=reference: every path (BitLinear inference, TernaryLinear, the runner's projections,
// its attention and its F16 head) runs on the TypeScript reference tier, and no other tier is called.
// The variable is set before anything reads the settings (they are read once, on first use).
process.env.BITNET_KERNEL = 'reference';

import { afterAll, describe, expect, it, vi } from 'vitest';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { loadTier, resolveKernels } from '../../src/kernels/registry.js';
import { referenceTier } from '../../src/kernels/reference.js';
import { TernaryLinear } from '../../src/kernels/ternary-linear.js';
import type { KernelTier } from '../../src/kernels/types.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { settings } from '../../src/settings.js';
import { floatToHalf } from '../../src/util/half.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';

type Spy = ReturnType<typeof vi.fn>;

/** Spies on every capability of a tier (before any path resolves its kernels). */
function spyOn(tier: KernelTier | null): Spy[] {
  if (tier === null) return [];
  const spies: Spy[] = [];
  if (tier.ternary !== undefined) spies.push(vi.spyOn(tier.ternary, 'gemm'), vi.spyOn(tier.ternary, 'upload'));
  if (tier.attention !== undefined) spies.push(vi.spyOn(tier as Required<KernelTier>, 'attention'));
  if (tier.gemvHalf !== undefined) spies.push(vi.spyOn(tier as Required<KernelTier>, 'gemvHalf'));
  if (tier.ggmlGemvHalf !== undefined) spies.push(vi.spyOn(tier as Required<KernelTier>, 'ggmlGemvHalf'));
  return spies;
}

const reference = spyOn(referenceTier);
const others = [...spyOn(loadTier('native')), ...spyOn(loadTier('wasm'))];

describe('BITNET_KERNEL=reference', () => {
  afterAll(() => vi.restoreAllMocks());

  it('is read into the settings, and every capability resolves to the reference tier', () => {
    expect(settings().kernel).toBe('reference');
    expect(resolveKernels()).toMatchObject({
      tier: 'reference',
      automatic: false,
      providers: { ternary: 'reference', gemvHalf: 'reference', ggmlGemvHalf: 'reference', attention: 'reference', siluGlu: 'reference' },
    });
  });

  it('runs BitLinear inference, TernaryLinear, and the runner (projections, attention, F16 head, both numerics) on it alone', async () => {
    await useBackend('cpu');
    const layer = new BitLinear({ units: 24, inference: true });
    const x = tf.tensor2d(seededArray(3 * 256, 1), [3, 256]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.kernelTier()).toBe('reference');
    x.dispose();
    layer.dispose();

    const linear = new TernaryLinear(quantizeWeights(seededArray(16 * 256, 2, 0.1), [16, 256]));
    expect(linear.tier).toBe('reference');
    linear.forward(seededArray(2 * 256, 3), 2);

    const config = {
      vocabSize: 40,
      hiddenSize: 256,
      intermediateSize: 256,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 2,
      contextLength: 8,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
    };
    const weights = randomBitnetWeights(config, 4, { weightStd: 0.3, embeddingStd: 0.5 });
    weights.tokenEmbeddingHalf = Uint16Array.from(weights.tokenEmbedding, floatToHalf);
    for (const numerics of ['bitnet', 'llama.cpp'] as const) {
      const runner = new BitnetRunner(weights, numerics);
      expect(runner.kernels.providers).toEqual({
        ternary: 'reference',
        gemvHalf: 'reference',
        ggmlGemvHalf: 'reference',
        attention: 'reference',
        siluGlu: 'reference',
      });
      runner.prefill([1, 2, 3]);
      runner.forward(4);
    }

    const [gemm, upload, attention, gemvHalf, ggmlGemvHalf] = reference as [Spy, Spy, Spy, Spy, Spy];
    expect(upload).toHaveBeenCalled();
    expect(gemm).toHaveBeenCalled();
    // BitNet numerics: (3 prompt tokens + 1) positions x 1 layer (llama.cpp numerics run ggml's
    // attention in TypeScript: src/inference/ggml-attention.ts)
    expect(attention).toHaveBeenCalledTimes(4);
    // the head runs once per prefill and once per forward, in each numerics
    expect(gemvHalf).toHaveBeenCalledTimes(2);
    expect(ggmlGemvHalf).toHaveBeenCalledTimes(2);
    for (const spy of others) expect(spy).not.toHaveBeenCalled();
  });
});
