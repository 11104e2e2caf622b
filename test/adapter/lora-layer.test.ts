import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import type { LoraLinear } from '../../adapters/lora/layer.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { weightsByName } from '../../src/nn/weights.js';
import { tf, useBackend } from '../helpers/tf.js';
import { denseMlp, inputs } from './models.js';

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
});
