// The adapter contract for every method the registry lists (registeredAdapters(): a new method is
// covered by registering it, nothing to add here), one `it` per lifecycle phase, each on its own
// fresh model: the method's defaults (its schema's), targets fc1 and fc2 of a Dense MLP and of a
// ternary (BitLinear) one when the method takes them. contract.test.ts holds hand-counted cases.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getAdapterMethod, registeredAdapters } from '../../src/adapter/registry.js';
import { injectAdapter, loadPeftModel } from '../../src/adapter/peft.js';
import type { PeftModel } from '../../src/adapter/peft-model.js';
import { modelLayers } from '../../src/nn/model-layers.js';
import { tf, useBackend } from '../helpers/tf.js';
import { bitnetMlp, denseMlp, inputs, predict, snapshot, trainSteps } from './models.js';

const BASES = [
  { name: 'Dense MLP', build: denseMlp, className: 'Dense' },
  { name: 'BitLinear MLP', build: bitnetMlp, className: 'BitLinear' },
];

function takes(peftType: string, b: (typeof BASES)[number]): boolean {
  const model = b.build();
  const ok = getAdapterMethod(peftType).supports(b.className, model.getLayer('fc1'));
  model.dispose();
  return ok;
}

const CASES = registeredAdapters().flatMap((peftType) => BASES.filter((b) => takes(peftType, b)).map((b) => ({ peftType, base: b })));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

function countWeights(model: tf.LayersModel): { trainable: number; frozen: number } {
  let trainable = 0;
  let frozen = 0;
  for (const { layer } of modelLayers(model)) {
    for (const w of layer.weights) {
      if (layer.trainable && w.trainable) trainable += w.read().size;
      else frozen += w.read().size;
    }
  }
  return { trainable, frozen };
}

describe('the registry lists the methods the contract covers', () => {
  it('LORA and BITNET at least, each on a base it takes', () => {
    expect(registeredAdapters()).toEqual(expect.arrayContaining(['LORA', 'BITNET']));
    expect(new Set(CASES.map((c) => c.peftType))).toEqual(new Set(registeredAdapters()));
  });
});

describe.each(CASES)('adapter contract of $peftType on a $base.name', ({ peftType, base: b }) => {
  beforeAll(() => useBackend('cpu'));
  const config = { peftType, targetModules: ['fc1', 'fc2'] };
  const fresh = (): { base: tf.LayersModel; peft: PeftModel; x: tf.Tensor2D } => {
    const base = b.build();
    return { base, peft: injectAdapter(base, config), x: inputs() };
  };
  const done = (f: { base: tf.LayersModel; peft: PeftModel; x: tf.Tensor2D }): void => {
    f.peft.dispose();
    f.base.dispose();
    f.x.dispose();
  };

  it('inject: the targets are adapted, the base model is untouched', () => {
    const f = fresh();
    const before = snapshot(f.base);
    expect(f.peft.report.matched.sort()).toEqual(['fc1', 'fc2']);
    expect(f.peft.model).not.toBe(f.base);
    for (const [name, w] of snapshot(f.base)) expect(w.values, name).toEqual(before.get(name)?.values);
    done(f);
  });

  it("count: the report agrees with the model's own trainable flags", () => {
    const f = fresh();
    const count = f.peft.countParameters();
    expect(count.trainable).toBeGreaterThan(0);
    expect({ trainable: count.trainable, frozen: count.frozen }).toEqual(countWeights(f.peft.model));
    expect(count.total).toBe(count.trainable + count.frozen);
    const byLayer = Object.values(count.byLayer).reduce((s, l) => s + l.trainable + l.frozen, 0);
    expect(byLayer).toBe(count.total);
    done(f);
  });

  it('freeze / unfreeze: everything trains, then the adapter alone again', () => {
    const f = fresh();
    const frozen = f.peft.countParameters();
    f.peft.unfreeze();
    expect(f.peft.isFrozen).toBe(false);
    expect(f.peft.countParameters().frozen).toBe(0);
    f.peft.freeze();
    expect(f.peft.countParameters()).toEqual(frozen);
    done(f);
  });

  it('disable / enable: disabled, the adapted model computes what the base model computes', () => {
    const f = fresh();
    const baseOut = predict(f.base, f.x);
    const adapted = predict(f.peft.model, f.x);
    f.peft.disable();
    expect(f.peft.enabled).toBe(false);
    expect(maxAbsDiff(predict(f.peft.model, f.x), baseOut)).toBeLessThan(1e-5);
    f.peft.enable();
    expect(predict(f.peft.model, f.x)).toEqual(adapted);
    done(f);
  });

  it('train: only trainable weights change', async () => {
    const f = fresh();
    const before = snapshot(f.peft.model);
    await trainSteps(f.peft.model);
    let changed = 0;
    for (const [name, w] of snapshot(f.peft.model)) {
      const was = before.get(name) as { trainable: boolean; values: Float32Array };
      if (was.trainable) changed += maxAbsDiff(w.values, was.values) > 0 ? 1 : 0;
      else expect(w.values, `${name} is frozen`).toEqual(was.values);
    }
    expect(changed).toBeGreaterThan(0);
    done(f);
  });

  it('merge / unmerge: merging reports each target, unmerging restores the adapted model exactly', async () => {
    const f = fresh();
    await trainSteps(f.peft.model);
    const adapted = predict(f.peft.model, f.x);
    const weights = snapshot(f.peft.model);
    const report = f.peft.merge();
    expect([...report.merged, ...report.kept].sort()).toEqual(['fc1', 'fc2']);
    expect(f.peft.merged).toBe(true);
    f.peft.unmerge();
    expect(predict(f.peft.model, f.x)).toEqual(adapted);
    for (const [name, w] of snapshot(f.peft.model)) expect(w.values, name).toEqual(weights.get(name)?.values);
    done(f);
  });

  it('save / load: a fresh base with the saved adapter computes the same', async () => {
    const f = fresh();
    await trainSteps(f.peft.model);
    const adapted = predict(f.peft.model, f.x);
    const dir = join(await mkdtemp(join(tmpdir(), 'bitnet-contract-')), 'adapter');
    await f.peft.save(dir);
    const other = b.build();
    const loaded = await loadPeftModel(other, dir);
    expect(maxAbsDiff(predict(loaded.model, f.x), adapted)).toBe(0);
    expect(loaded.countParameters()).toEqual(f.peft.countParameters());
    loaded.dispose();
    other.dispose();
    done(f);
  });

  it('dispose: the whole lifecycle leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const f = fresh();
    await trainSteps(f.peft.model);
    // the optimizer's moments belong to the training loop, not to the adapter
    f.peft.model.optimizer.dispose();
    f.peft.disable();
    f.peft.enable();
    f.peft.merge();
    f.peft.unmerge();
    done(f);
    expect(tf.memory().numTensors).toBe(before);
  });
});
