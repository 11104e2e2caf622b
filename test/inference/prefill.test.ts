import { describe, expect, it } from 'vitest';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { expectBitNetError } from '../helpers/errors.js';

describe('prefill: a prompt in one batched pass', () => {
  const config = {
    vocabSize: 70,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: 40,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  };
  const weights = randomBitnetWeights(config, 8, { weightStd: 0.3, embeddingStd: 0.5 });
  const prompt = Array.from({ length: 23 }, (_, i) => (i * 13 + 5) % config.vocabSize);
  for (const numerics of ['bitnet', 'llama.cpp'] as const) {
    it(`gives the last token's logits and the KV cache of feeding tokens one at a time (${numerics})`, () => {
      const batched = new BitnetRunner(weights, numerics);
      const single = new BitnetRunner(weights, numerics);
      const a = batched.prefill(prompt);
      let b: Float32Array = new Float32Array(0);
      for (const t of prompt) b = single.forward(t);
      expect(a).toEqual(b);
      expect(batched.position).toBe(prompt.length);
      for (const t of [3, 9, 27]) expect(batched.forward(t)).toEqual(single.forward(t));
    });
  }

  it('refuses more tokens than the cache holds, naming the position', () => {
    const runner = new BitnetRunner(weights, 'bitnet');
    runner.prefill(prompt);
    expectBitNetError(() => runner.prefill(prompt), 'INVALID_ARGUMENT', 'position');
    expect(runner.position).toBe(prompt.length);
  });
});
