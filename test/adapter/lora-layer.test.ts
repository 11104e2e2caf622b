import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import type { LoraLinear } from '../../adapters/lora/layer.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { weightsByName } from '../../src/nn/weights.js';
import { tf, useBackend } from '../helpers/tf.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { bitnetMlp, denseMlp, inputs, predict } from './models.js';

describe('LoraLinear details', () => {
  beforeAll(() => useBackend('cpu'));

  it('scaling is alpha / r, or alpha / sqrt(r) with rsLoRA; A is kaiming-uniform with bound 1/sqrt(in)', () => {
    for (const [useRslora, expected] of [
      [false, 16 / 4],
      [true, 16 / 2],
    ] as const) {
      const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 4, loraAlpha: 16, useRslora }, { warn: () => {} });
      const layer = peft.model.getLayer('fc1') as LoraLinear;
      expect(layer.scaling).toBe(expected);
      const a = weightsByName(layer).lora_A?.dataSync() as Float32Array;
      const bound = 1 / Math.sqrt(12);
      expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(bound * 0.5);
      // with B set, the update is x · A · B · scaling before the activation
      const b = tf.randomNormal([4, 16], 0, 1, 'float32', 3);
      layer.setWeights(layer.getWeights().map((w) => (w.shape[0] === 4 && w.shape[1] === 16 ? b : w)));
      const x = inputs(3);
      const base = peft.model.getLayer('fc1') as LoraLinear;
      base.loraEnabled = false;
      const off = tf.tidy(() => (layer.apply(x) as tf.Tensor).dataSync());
      base.loraEnabled = true;
      const on = tf.tidy(() => (layer.apply(x) as tf.Tensor).dataSync());
      const linear = tf.tidy(() => {
        const w = weightsByName(layer);
        const pre = tf.add(
          tf.add(tf.matMul(x, w.kernel as tf.Tensor2D), w.bias as tf.Tensor),
          tf.mul(tf.matMul(tf.matMul(x, w.lora_A as tf.Tensor2D), w.lora_B as tf.Tensor2D), expected),
        );
        return tf.relu(pre).dataSync();
      });
      on.forEach((v, i) => expect(v).toBeCloseTo(linear[i] as number, 4));
      expect(Array.from(on)).not.toEqual(Array.from(off));
      peft.dispose();
    }
  });

  it('dropout applies in training only', () => {
    const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 4, loraDropout: 0.5 }, { warn: () => {} });
    const layer = peft.model.getLayer('fc1') as LoraLinear;
    layer.setWeights(layer.getWeights().map((w) => (w.shape[0] === 4 && w.shape[1] === 16 ? tf.ones([4, 16]) : w)));
    const x = inputs(8);
    const eval1 = tf.tidy(() => (layer.apply(x) as tf.Tensor).dataSync());
    const eval2 = tf.tidy(() => (layer.apply(x) as tf.Tensor).dataSync());
    expect(eval2).toEqual(eval1);
    const train = tf.tidy(() => (layer.apply(x, { training: true }) as tf.Tensor).dataSync());
    expect(Array.from(train)).not.toEqual(Array.from(eval1));
    peft.dispose();
  });

  it.each([
    [1, 1, false, 1],
    [2, 8, false, 4],
    [8, 32, false, 4],
    [8, 32, true, 32 / Math.sqrt(8)],
    [16, 8, true, 2],
  ] as const)('r %i, alpha %i, rsLoRA %s: the update is x A B times %f (peft: alpha/r or alpha/sqrt r)', (r, loraAlpha, useRslora, scaling) => {
    const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r, loraAlpha, useRslora });
    const layer = peft.model.getLayer('fc1') as LoraLinear;
    expect(layer.scaling).toBeCloseTo(scaling, 12);
    const b = tf.randomNormal([r, 16], 0, 1, 'float32', 5);
    layer.setWeights(layer.getWeights().map((w) => (w.shape[0] === r && w.shape[1] === 16 ? b : w)));
    const x = inputs(4);
    const w = weightsByName(layer);
    const [a, bb, kernel] = [w.lora_A, w.lora_B, w.kernel].map((t) => (t as tf.Tensor).arraySync() as number[][]) as [number[][], number[][], number[][]];
    const bias = (w.bias as tf.Tensor).arraySync() as number[];
    const xs = x.arraySync();
    // by hand in float64: relu(x W + bias + scaling * x A B)
    const want = xs.map((row) =>
      bias.map((bv, j) => {
        const base = row.reduce((acc, v, k) => acc + v * (kernel[k]?.[j] as number), bv);
        const delta = row.reduce((acc, v, k) => acc + v * (a[k] as number[]).reduce((s2, av, q) => s2 + av * (bb[q]?.[j] as number), 0), 0);
        return Math.max(0, base + scaling * delta);
      }),
    );
    const on = tf.tidy(() => (layer.apply(x) as tf.Tensor).arraySync() as number[][]);
    on.forEach((row, n) => row.forEach((v, j) => expect(v, `token ${n} unit ${j}`).toBeCloseTo(want[n]?.[j] as number, 4)));
    tf.dispose([b, x]);
    peft.dispose();
  });

  it('merging into a ternary (BitLinear) base folds scaling * A B into the latent kernel and re-quantizes it; keep leaves the adapter', () => {
    const peft = getPeftModel(bitnetMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 4, loraAlpha: 8 });
    const layer = peft.model.getLayer('fc1') as LoraLinear;
    const b = tf.randomNormal([4, 16], 0, 0.5, 'float32', 9);
    layer.setWeights(layer.getWeights().map((w) => (w.shape[0] === 4 && w.shape[1] === 16 ? b : w)));
    const w = weightsByName(layer);
    const kernel = (w.kernel as tf.Tensor).arraySync() as number[][];
    const a = w.lora_A?.arraySync() as number[][];
    const bb = w.lora_B?.arraySync() as number[][];
    // W' = W + 2 * A B (alpha / r = 8 / 4), [in, out], in float64 by hand
    const expected = kernel.map((row, i) => row.map((v, j) => v + 2 * (a[i] as number[]).reduce((s2, av, q) => s2 + av * (bb[q]?.[j] as number), 0)));
    const x = inputs(5);
    const before = predict(peft.model, x);
    const report = peft.merge({ ternaryBase: 'requantize' });
    expect(report.requantized).toEqual(['fc1']);
    const merged = peft.model.getLayer('fc1') as BitLinear;
    expect(merged).toBeInstanceOf(BitLinear);
    const latent = (weightsByName(merged).kernel as tf.Tensor).arraySync() as number[][];
    latent.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]?.[j] as number, 5)));
    // its ternary weight is absmean of W' ([out, in] = the transpose)
    const torch = Float32Array.from({ length: 16 * 12 }, (_, k) => expected[k % 12]?.[Math.floor(k / 12)] as number);
    const want = quantizeWeights(torch, [16, 12]);
    expect(Array.from(merged.ternaryWeight().values)).toEqual(Array.from(want.values));
    expect(merged.ternaryWeight().scales[0]).toBeCloseTo(want.scales[0] as number, 6);
    // re-quantizing changes the function (that is why it is reported); unmerge restores it exactly
    peft.unmerge();
    expect(predict(peft.model, x)).toEqual(before);
    const kept = peft.merge({ ternaryBase: 'keep' });
    expect(kept.kept).toEqual(['fc1']);
    expect(peft.model.getLayer('fc1').getClassName()).toBe('LoraLinear');
    tf.dispose([b, x]);
    peft.dispose();
  });
});
