// Issue #17: DoRA on a ternary (BitLinear) base. peft defines DoRA on the weight its layer computes
// with; for BitLinear that is beta · q (in inference mode), so the magnitude starts at the column
// norms of beta · q, and the output is peft's DoRA formula on top of the BitLinear's own (int8
// activations) output. Checked against that formula written out in float64 here, and it trains.
// (DoRA on Dense against peft itself: peft-multi-golden.test.ts.)
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { type LoraLinear } from '../../adapters/lora/layer.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { type BitLinear } from '../../src/nn/bit-linear.js';
import { setWeightsByName, weightsByName } from '../../src/nn/weights.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';
import { bitnetMlp, inputs, predict, trainSteps } from './models.js';

describe('DoRA on a BitLinear base', () => {
  beforeAll(() => useBackend('cpu'));

  it("starts at the norms of beta · q and computes peft's formula on the BitLinear output", () => {
    const base = bitnetMlp(11);
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc2'], r: 3, loraAlpha: 6, useDora: true });
    const lora = peft.model.getLayer('fc2') as LoraLinear;
    const bit = lora.base as BitLinear;
    bit.setInference(true);
    (peft.model.getLayer('fc1') as BitLinear).setInference(true);
    const t = bit.ternaryWeight();
    const [out, inF] = t.shape;
    const beta = t.scales[0] as number;
    const norms = Array.from({ length: out }, (_, o) =>
      Math.sqrt(Array.from({ length: inF }, (_, i) => (beta * (t.values[o * inF + i] as number)) ** 2).reduce((a, b) => a + b, 0)),
    );
    // initialized from the weights BitLinear computes with (set in inference mode above: q and beta are the latent's)
    const m0 = weightsByName(lora).lora_magnitude_vector?.dataSync() as Float32Array;
    expect(m0.length).toBe(out);
    lora.initializeMagnitude();
    const m = Array.from(weightsByName(lora).lora_magnitude_vector?.dataSync() as Float32Array);
    m.forEach((v, o) => expect(v).toBeCloseTo(norms[o] as number, 5));

    // a trained state: B and the magnitude away from their start
    const values = weightsByName(lora);
    const b = tf.tensor2d(seededArray(3 * out, 5, 0.3), [3, out]);
    const moved = tf.tensor1d(m.map((v, o) => v * (1 + 0.1 * Math.sin(o))));
    setWeightsByName(lora, { ...values, lora_B: b, lora_magnitude_vector: moved });
    tf.dispose([b, moved]);

    const x = inputs(4, 12);
    const h = tf.tidy(() => tf.relu(peft.model.getLayer('fc1').apply(x) as tf.Tensor).dataSync() as Float32Array);
    const got = tf.tidy(() => (lora.apply(tf.tensor2d(h, [4, inF])) as tf.Tensor).dataSync() as Float32Array);
    const baseOut = tf.tidy(() => (bit.apply(tf.tensor2d(h, [4, inF])) as tf.Tensor).dataSync() as Float32Array);
    const w = weightsByName(lora);
    const A = w.lora_A?.dataSync() as Float32Array; // [in, r]
    const B = w.lora_B?.dataSync() as Float32Array; // [r, out]
    const mag = w.lora_magnitude_vector?.dataSync() as Float32Array;
    const s = 6 / 3;
    for (let o = 0; o < out; o++) {
      let norm2 = 0;
      for (let i = 0; i < inF; i++) {
        let d = 0;
        for (let j = 0; j < 3; j++) d += (A[i * 3 + j] as number) * (B[j * out + o] as number);
        norm2 += (beta * (t.values[o * inF + i] as number) + s * d) ** 2;
      }
      const scale = (mag[o] as number) / Math.sqrt(norm2);
      for (let n = 0; n < 4; n++) {
        let lora2 = 0;
        for (let j = 0; j < 3; j++) {
          let a = 0;
          for (let i = 0; i < inF; i++) a += (h[n * inF + i] as number) * (A[i * 3 + j] as number);
          lora2 += a * (B[j * out + o] as number);
        }
        const base = baseOut[n * out + o] as number;
        const want = base + (scale - 1) * base + scale * s * lora2;
        expect(got[n * out + o], `row ${n} out ${o}`).toBeCloseTo(want, 4);
      }
    }
    x.dispose();
    peft.dispose();
    base.dispose();
  });

  it('trains the magnitude and the low-rank pair, saves them in the peft layout, and merges re-quantized', async () => {
    const base = bitnetMlp(12);
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 2, loraAlpha: 4, useDora: true });
    const before = weightsByName(peft.model.getLayer('fc1')).lora_magnitude_vector?.dataSync().slice() as Float32Array;
    await trainSteps(peft.model, 4);
    const after = weightsByName(peft.model.getLayer('fc1')).lora_magnitude_vector?.dataSync() as Float32Array;
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    const keys = Object.keys(peft.method.stateDict(peft.model.getLayer('fc1'), peft.config));
    expect(keys.sort()).toEqual(['lora_A.weight', 'lora_B.weight', 'lora_magnitude_vector']);
    const x = inputs(5, 13);
    expect(predict(peft.model, x).every(Number.isFinite)).toBe(true);
    const report = peft.merge();
    expect(report.requantized.sort()).toEqual(['fc1', 'fc2']);
    peft.unmerge();
    x.dispose();
    peft.dispose();
    base.dispose();
  });
});
