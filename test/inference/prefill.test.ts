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
  it("gives the last token's logits and the KV cache of feeding tokens one at a time (BitNet numerics)", () => {
    const batched = new BitnetRunner(weights, 'bitnet');
    const single = new BitnetRunner(weights, 'bitnet');
    const a = batched.prefill(prompt);
    let b: Float32Array = new Float32Array(0);
    for (const t of prompt) b = single.forward(t);
    expect(a).toEqual(b);
    expect(batched.position).toBe(prompt.length);
    for (const t of [3, 9, 27]) expect(batched.forward(t)).toEqual(single.forward(t));
  });

  it("llama.cpp numerics: a batch sums attention in llama.cpp's batch order, within 1e-4 of one at a time; one token is forward() exactly", () => {
    const batched = new BitnetRunner(weights, 'llama.cpp');
    const single = new BitnetRunner(weights, 'llama.cpp');
    const a = batched.prefill(prompt);
    let b: Float32Array = new Float32Array(0);
    for (const t of prompt) b = single.forward(t);
    const worst = (x: Float32Array, y: Float32Array): number =>
      Math.max(...Array.from(x, (v, i) => Math.abs(v - (y[i] as number)) / (1 + Math.abs(y[i] as number))));
    expect(worst(a, b)).toBeLessThan(1e-4);
    expect(batched.position).toBe(prompt.length);
    for (const t of [3, 9, 27]) expect(worst(batched.forward(t), single.forward(t))).toBeLessThan(1e-4);
    const one = new BitnetRunner(weights, 'llama.cpp');
    const other = new BitnetRunner(weights, 'llama.cpp');
    expect(one.prefill([prompt[0] as number])).toEqual(other.forward(prompt[0] as number));
  });

  it('refuses more tokens than the cache holds, naming the position', () => {
    const runner = new BitnetRunner(weights, 'bitnet');
    runner.prefill(prompt);
    expectBitNetError(() => runner.prefill(prompt), 'INVALID_ARGUMENT', 'position');
    expect(runner.position).toBe(prompt.length);
  });
});
