// Issue #17: many adapters on one base, as peft names them: addAdapter / setAdapter /
// deleteAdapter, disableAdapter giving the base model exactly (also the original modulesToSave),
// addWeightedAdapter ('linear' and 'cat' as peft defines them), and save/load in peft's
// multi-adapter layout (the default adapter in the folder, others in subfolders).
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { LoraLinear } from '../../adapters/lora/layer.js';
import { getPeftModel, loadPeftModel } from '../../src/adapter/peft.js';
import type { PeftModel } from '../../src/adapter/peft-model.js';
import { setWeightsByName, weightsByName } from '../../src/nn/weights.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';
import { denseMlp, inputs, predict, trainSteps } from './models.js';

/** Moves every lora_B of the active adapter away from zero, so that the adapter changes the outputs. */
function perturb(peft: PeftModel, seed: number): void {
  for (const layer of peft.model.layers) {
    if (!(layer instanceof LoraLinear)) continue;
    const values = weightsByName(layer);
    const b = values.lora_B as tf.Tensor;
    const moved = tf.tensor(seededArray(b.size, seed++, 0.5), b.shape);
    setWeightsByName(layer, { ...values, lora_B: moved });
    moved.dispose();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

describe('named adapters (peft multi-adapter)', () => {
  beforeAll(async () => useBackend('cpu'));

  it('add, set, delete: each adapter keeps its weights; disableAdapter gives the base exactly, modulesToSave included', async () => {
    const base = denseMlp(4);
    const x = inputs(8, 21);
    const baseOut = predict(base, x);
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1'], r: 2, loraAlpha: 4, modulesToSave: ['head'] });
    await trainSteps(peft.model, 3);
    perturb(peft, 1);
    const firstOut = predict(peft.model, x);
    expect(maxDiff(firstOut, baseOut)).toBeGreaterThan(1e-3);

    // another layout (targets, rank): the model is rebuilt for it, and back
    peft.addAdapter('second', peft.method.schema.parse({ peftType: 'LORA', targetModules: ['fc2'], r: 4, loraAlpha: 4 }));
    expect(peft.adapterNames).toEqual(['default', 'second']);
    expect(peft.activeAdapter).toBe('default');
    expect(predict(peft.model, x)).toEqual(firstOut);
    peft.setAdapter('second');
    // a fresh LoRA changes nothing, and the head is the original one: the base model's outputs
    expect(predict(peft.model, x)).toEqual(baseOut);
    perturb(peft, 9);
    const secondOut = predict(peft.model, x);
    expect(maxDiff(secondOut, baseOut)).toBeGreaterThan(1e-3);
    peft.setAdapter('default');
    expect(predict(peft.model, x)).toEqual(firstOut);

    peft.disableAdapter();
    expect(predict(peft.model, x)).toEqual(baseOut);
    peft.enable();
    expect(predict(peft.model, x)).toEqual(firstOut);

    peft.deleteAdapter('default');
    expect(peft.adapterNames).toEqual(['second']);
    expect(peft.activeAdapter).toBe('second');
    expect(predict(peft.model, x)).toEqual(secondOut);
    expect(() => peft.deleteAdapter('second')).toThrow(/only adapter/);
    expect(() => peft.setAdapter('nope')).toThrow(/no adapter named 'nope'/);
    peft.dispose();
    base.dispose();
    x.dispose();
  });

  it('adapters of one layout swap values in the same model (no rebuild)', () => {
    const base = denseMlp(5);
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 2, loraAlpha: 4 });
    const model = peft.model;
    peft.addAdapter('other', peft.method.schema.parse({ peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 2, loraAlpha: 4, seed: 3 }));
    peft.setAdapter('other');
    expect(peft.model).toBe(model);
    peft.dispose();
    base.dispose();
  });

  it("addWeightedAdapter: 'cat' sums the updates, 'linear' follows peft's square-root weighting", () => {
    const base = denseMlp(6);
    const x = inputs(5, 22);
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 2, loraAlpha: 4 });
    perturb(peft, 30);
    peft.addAdapter('b', peft.method.schema.parse({ peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 2, loraAlpha: 2, seed: 5 }));
    peft.setAdapter('b');
    perturb(peft, 40);
    // the delta of each layer: scaling · A·B in the tfjs layout [in, out]
    const deltas = (): Map<string, Float32Array> =>
      new Map(
        peft.model.layers
          .filter((l): l is LoraLinear => l instanceof LoraLinear)
          .map((l) => {
            const w = weightsByName(l);
            return [l.name, tf.tidy(() => tf.mul(tf.matMul(w.lora_A as tf.Tensor2D, w.lora_B as tf.Tensor2D), l.scaling).dataSync() as Float32Array)];
          }),
      );
    const dB = deltas();
    peft.setAdapter('default');
    const dA = deltas();
    peft.addWeightedAdapter(['default', 'b'], [0.5, 2], 'cat', 'cat');
    peft.addWeightedAdapter(['default', 'b'], [0.5, 2], 'lin', 'linear');
    peft.setAdapter('cat');
    expect(peft.adapterConfig('cat')).toMatchObject({ r: 4, loraAlpha: 4 });
    for (const [layer, d] of deltas()) {
      const want = (dA.get(layer) as Float32Array).map((v, i) => 0.5 * v + 2 * ((dB.get(layer) as Float32Array)[i] as number));
      expect(maxDiff(d, want), layer).toBeLessThan(1e-5);
    }
    peft.setAdapter('lin');
    expect(peft.adapterConfig('lin')).toMatchObject({ r: 2, loraAlpha: 2 });
    // (sum of sqrt(s_i)·A_i)(sum of sqrt(s_i)·B_i): the cross terms make it differ from the weighted sum
    const lin = deltas();
    expect(
      maxDiff(
        lin.get('fc1') as Float32Array,
        (dA.get('fc1') as Float32Array).map((v, i) => 0.5 * v + 2 * ((dB.get('fc1') as Float32Array)[i] as number)),
      ),
    ).toBeGreaterThan(1e-4);
    expect(() => peft.addWeightedAdapter(['default', 'cat'], [1, 1], 'bad', 'linear')).toThrow(/one rank/);
    peft.dispose();
    base.dispose();
    x.dispose();
  });

  it("saves in peft's layout (others in subfolders) and loads back: each adapter's outputs", async () => {
    const base = denseMlp(7);
    const x = inputs(6, 23);
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1'], r: 2, loraAlpha: 4, modulesToSave: ['head'] });
    await trainSteps(peft.model, 2);
    perturb(peft, 50);
    const first = predict(peft.model, x);
    peft.addAdapter('second', peft.method.schema.parse({ peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 3, loraAlpha: 6 }));
    peft.setAdapter('second');
    perturb(peft, 60);
    const second = predict(peft.model, x);
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-multi-'));
    await peft.save(dir);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'second/adapter_config.json', 'second/adapter_model.safetensors']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const loaded = await loadPeftModel(base, dir);
    expect(predict(loaded.model, x)).toEqual(first);
    await loaded.loadAdapter(join(dir, 'second'), 'second');
    loaded.setAdapter('second');
    expect(predict(loaded.model, x)).toEqual(second);
    await expect(loaded.loadAdapter(join(dir, 'second'), 'second')).rejects.toThrow(/exists already/);
    loaded.dispose();
    peft.dispose();
    base.dispose();
    x.dispose();
  });

  it('leaks no tensors across add, set, disable, weighted, delete and dispose', () => {
    const base = denseMlp(8);
    const before = tf.memory().numTensors;
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1'], r: 2, loraAlpha: 4, modulesToSave: ['head'] });
    peft.addAdapter('b', peft.method.schema.parse({ peftType: 'LORA', targetModules: ['fc2'], r: 2, loraAlpha: 4 }));
    peft.setAdapter('b');
    peft.disableAdapter();
    peft.enable();
    peft.setAdapter('default');
    peft.addAdapter('c', peft.method.schema.parse({ peftType: 'LORA', targetModules: ['fc1'], r: 2, loraAlpha: 4 }));
    peft.addWeightedAdapter(['c'], [1], 'w', 'cat');
    peft.deleteAdapter('b');
    peft.dispose();
    expect(tf.memory().numTensors).toBe(before);
    base.dispose();
  });
});
