import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { loadTier, resolveKernels } from '../../src/kernels/registry.js';
import { configure, KERNEL_TIERS } from '../../src/settings.js';
import { TernaryLinear } from '../../src/kernels/ternary-linear.js';
import { buildMlp } from '../../src/models/mlp.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { quantizeActivations } from '../../src/quant/activation.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { SeededRandom } from '../../src/util/random.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';
import { tieRows, tiesToEven } from '../helpers/ties.js';

const tiers = (['native', 'wasm', 'reference'] as const).filter((t) => loadTier(t) !== null);

describe('TernaryLinear (no tfjs)', () => {
  it.each(tiers)('%s: y = sum(q_w * q_x) * beta * (1/s) + bias, per tensor and per group', (tier) => {
    const [out, inF, batch] = [13, 320, 4];
    for (const groupSize of ['tensor', 4, 32, 64] as const) {
      const w = quantizeWeights(seededArray(out * inF, 1, 0.1), [out, inF], { groupSize: groupSize === 4 ? 4 : groupSize });
      const bias = seededArray(out, 2);
      const x = seededArray(batch * inF, 3, 2);
      const layer = new TernaryLinear(w, { kernels: resolveKernels(tier), bias });
      const y = layer.forward(x, batch);
      const q = quantizeActivations(x, [batch, inF]);
      const per = groupSize === 'tensor' ? inF : groupSize;
      for (let b = 0; b < batch; b++) {
        for (let r = 0; r < out; r++) {
          let expected = 0;
          for (let k = 0; k < inF; k++)
            expected +=
              (w.values[r * inF + k] as number) *
              (q.values[b * inF + k] as number) *
              (w.scales[groupSize === 'tensor' ? 0 : Math.floor((r * inF + k) / per)] as number);
          expected = expected * (q.scales[b] as number) + (bias[r] as number);
          expect(Math.abs((y[b * out + r] as number) - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
        }
      }
      layer.dispose();
    }
  });

  it.each(tiers)('%s: exact ties in the activations round half to even (bit for bit against the rule)', (tier) => {
    const [out, inF, batch] = [21, 512, 5];
    const w = quantizeWeights(seededArray(out * inF, 7, 0.1), [out, inF]);
    const x = tieRows(batch, inF, new SeededRandom(11));
    const qx = tiesToEven(x);
    const y = new TernaryLinear(w, { kernels: resolveKernels(tier) }).forward(x, batch);
    const beta = w.scales[0] as number;
    for (let b = 0; b < batch; b++) {
      for (let r = 0; r < out; r++) {
        let acc = 0;
        for (let k = 0; k < inF; k++) acc += (w.values[r * inF + k] as number) * (qx[b * inF + k] as number);
        // s = 1 exactly, so the layer's multiplier beta * (1/s) is beta
        expect(y[b * out + r], `token ${b} row ${r}`).toBe(Math.fround(acc * beta));
      }
    }
  });

  it('every tier gives the same floats', () => {
    const w = quantizeWeights(seededArray(64 * 512, 4, 0.05), [64, 512], { groupSize: 128 });
    const x = seededArray(3 * 512, 5);
    const outputs = tiers.map((tier) => new TernaryLinear(w, { kernels: resolveKernels(tier) }).forward(x, 3));
    for (const y of outputs) expect(y).toEqual(outputs[0]);
    expect(KERNEL_TIERS).toContain('reference');
  });
});

describe('BitLinear inference through the kernels', () => {
  beforeAll(() => useBackend('cpu'));

  it.each(tiers)('a merged BitNet MLP predicts the same through %s kernels as through the tfjs integer path', (tier) => {
    const base = buildMlp({ inputSize: 320, hidden: [64, 32], outputs: 10, layer: 'dense', seed: 4 });
    const peft = getPeftModel(base, { peftType: 'BITNET', targetModules: 'all-linear', groupSize: 32 }, { warn: () => {} });
    peft.merge();
    const x = tf.tensor2d(seededArray(9 * 320, 6), [9, 320]);
    configure({ inference: 'tfjs' });
    const viaTfjs = (peft.model.predict(x) as tf.Tensor).dataSync();
    configure({ inference: 'kernels', kernel: tier });
    for (const l of peft.model.layers) if (l instanceof BitLinear) l.setInference(true);
    const viaKernels = (peft.model.predict(x) as tf.Tensor).dataSync();
    configure({ inference: 'auto', kernel: 'auto' });
    expect(viaKernels).toEqual(viaTfjs);
    expect(Array.from(viaKernels).some((v) => v !== 0)).toBe(true);
    peft.dispose();
  });
});
