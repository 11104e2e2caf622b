import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import type { PeftConfigInput } from '../../src/adapter/peft.js';
import { getPeftModel, loadPeftModel } from '../../src/adapter/peft.js';
import type { PeftModel } from '../../src/adapter/peft-model.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { tf, useBackend } from '../helpers/tf.js';
import { bitnetMlp, branchModel, denseMlp, IN, inputs, predict, snapshot, trainSteps } from './models.js';

interface Case {
  name: string;
  base: () => tf.LayersModel;
  config: PeftConfigInput;
  /** Hand-counted parameters after injection. */
  expected: { trainable: number; frozen: number; byLayer: Record<string, { trainable: number; frozen: number }> };
  /** LoRA leaves the forward pass unchanged at injection. */
  identityAtInit: boolean;
  /** How merged outputs compare with the unmerged adapted model. */
  mergedEquality: 'close' | 'exact-inference' | 'requantized';
}

const lora = (inF: number, outF: number, r: number): number => inF * r + r * outF;
const dense = (inF: number, outF: number, bias = true): number => inF * outF + (bias ? outF : 0);

const CASES: Case[] = [
  {
    name: 'LORA on Dense (list targets)',
    base: () => denseMlp(),
    config: { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 4, loraAlpha: 8 },
    expected: {
      trainable: lora(IN, 16, 4) + lora(16, 8, 4),
      frozen: dense(IN, 16) + dense(16, 8) + dense(8, 4),
      byLayer: {
        fc1: { trainable: 12 * 4 + 4 * 16, frozen: 12 * 16 + 16 },
        fc2: { trainable: 16 * 4 + 4 * 8, frozen: 16 * 8 + 8 },
        head: { trainable: 0, frozen: 8 * 4 + 4 },
      },
    },
    identityAtInit: true,
    mergedEquality: 'close',
  },
  {
    name: 'LORA on a functional model (regex targets, modulesToSave)',
    base: () => branchModel(),
    config: { peftType: 'LORA', targetModules: 'branch\\.[ab]', r: 2, loraAlpha: 4, modulesToSave: ['out'] },
    expected: {
      trainable: 2 * lora(IN, 10, 2) + dense(10, 3),
      frozen: 2 * dense(IN, 10),
      byLayer: {
        'branch.a': { trainable: 12 * 2 + 2 * 10, frozen: 12 * 10 + 10 },
        'branch.b': { trainable: 12 * 2 + 2 * 10, frozen: 12 * 10 + 10 },
        sum: { trainable: 0, frozen: 0 },
        out: { trainable: 10 * 3 + 3, frozen: 0 },
      },
    },
    identityAtInit: true,
    mergedEquality: 'close',
  },
  {
    name: 'BITNET (all-linear, head kept as modulesToSave)',
    base: () => denseMlp(),
    config: { peftType: 'BITNET', targetModules: 'all-linear', modulesToSave: ['head'] },
    expected: {
      trainable: dense(IN, 16) + dense(16, 8) + dense(8, 4),
      frozen: 0,
      byLayer: {
        fc1: { trainable: 12 * 16 + 16, frozen: 0 },
        fc2: { trainable: 16 * 8 + 8, frozen: 0 },
        head: { trainable: 8 * 4 + 4, frozen: 0 },
      },
    },
    identityAtInit: false,
    mergedEquality: 'exact-inference',
  },
  {
    name: 'BITNET with RMSNorm and groups on fc2 only',
    base: () => denseMlp(),
    config: { peftType: 'BITNET', targetModules: ['fc2'], useRmsNorm: true, groupSize: 8 },
    expected: {
      trainable: 16 + dense(16, 8),
      frozen: dense(IN, 16) + dense(8, 4),
      byLayer: {
        fc1: { trainable: 0, frozen: 12 * 16 + 16 },
        fc2: { trainable: 16 + 16 * 8 + 8, frozen: 0 },
        head: { trainable: 0, frozen: 8 * 4 + 4 },
      },
    },
    identityAtInit: false,
    mergedEquality: 'exact-inference',
  },
  {
    name: 'LORA on a frozen ternary (BitLinear) base',
    base: () => bitnetMlp(),
    config: { peftType: 'LORA', targetModules: 'fc\\d', r: 2, loraAlpha: 2 },
    expected: {
      trainable: lora(IN, 16, 2) + lora(16, 8, 2),
      frozen: IN * 16 + 16 * 8 + dense(8, 4),
      byLayer: {
        fc1: { trainable: 12 * 2 + 2 * 16, frozen: 12 * 16 },
        act: { trainable: 0, frozen: 0 },
        fc2: { trainable: 16 * 2 + 2 * 8, frozen: 16 * 8 },
        head: { trainable: 0, frozen: 8 * 4 + 4 },
      },
    },
    identityAtInit: true,
    mergedEquality: 'requantized',
  },
];

function setInference(model: tf.LayersModel, on: boolean): void {
  for (const layer of model.layers) if (layer instanceof BitLinear) layer.setInference(on);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

describe.each(CASES)('adapter contract: $name', (c) => {
  beforeAll(() => useBackend('cpu'));

  it('inject -> count -> train -> merge -> unmerge -> save -> load', async () => {
    const base = c.base();
    const x = inputs();
    const baseOut = predict(base, x);
    const baseWeights = snapshot(base);
    const warnings: string[] = [];
    const peft: PeftModel = getPeftModel(base, c.config, { warn: (m) => warnings.push(m) });

    // counts, by hand
    const count = peft.countParameters();
    expect(count.trainable).toBe(c.expected.trainable);
    expect(count.frozen).toBe(c.expected.frozen);
    expect(count.total).toBe(c.expected.trainable + c.expected.frozen);
    expect(count.byLayer).toEqual(c.expected.byLayer);
    const pct = ((100 * c.expected.trainable) / count.total).toFixed(4);
    const lines: string[] = [];
    expect(peft.printTrainableParameters((l) => lines.push(l))).toBe(
      `trainable params: ${c.expected.trainable.toLocaleString('en-US')} || all params: ${count.total.toLocaleString('en-US')} || trainable%: ${pct}`,
    );
    expect(lines).toHaveLength(1);
    expect(peft.isFrozen).toBe(true);

    // the base model is untouched and a disabled adapter behaves like it
    if (c.identityAtInit) expect(predict(peft.model, x)).toEqual(baseOut);
    peft.disable();
    expect(maxAbsDiff(predict(peft.model, x), baseOut)).toBeLessThan(1e-5);
    peft.enable();

    // training changes only trainable weights
    const before = snapshot(peft.model);
    await trainSteps(peft.model);
    const after = snapshot(peft.model);
    let changed = 0;
    for (const [name, w] of before) {
      const now = after.get(name)?.values as Float32Array;
      if (w.trainable) {
        if (maxAbsDiff(now, w.values) > 0) changed++;
      } else {
        expect(now, `${name} is frozen`).toEqual(w.values);
      }
    }
    expect(changed).toBeGreaterThan(0);
    for (const [name, w] of snapshot(base)) expect(w.values, `base ${name}`).toEqual(baseWeights.get(name)?.values);

    // merge
    setInference(peft.model, true);
    const adaptedOut = predict(peft.model, x);
    const adaptedWeights = snapshot(peft.model);
    const report = peft.merge();
    expect(peft.merged).toBe(true);
    const mergedOut = predict(peft.model, x);
    if (c.mergedEquality === 'exact-inference') {
      expect(mergedOut).toEqual(adaptedOut);
      const latent = peft.model.layers.flatMap((l) => l.weights.map((w) => w.originalName)).filter((n) => n.endsWith('/kernel'));
      expect(latent.every((n) => !report.merged.some((p) => n.startsWith(`${p}/`)))).toBe(true);
    } else if (c.mergedEquality === 'close') {
      expect(maxAbsDiff(mergedOut, adaptedOut)).toBeLessThan(1e-5);
      expect(peft.model.layers.map((l) => l.getClassName())).not.toContain('LoraLinear');
    } else {
      expect(report.requantized).toEqual(report.merged);
      expect(warnings.some((w) => w.includes('re-quantized'))).toBe(true);
      peft.unmerge();
      const kept = peft.merge({ ternaryBase: 'keep' });
      expect(kept.kept).toEqual(peft.report.matched);
      expect(predict(peft.model, x)).toEqual(adaptedOut);
    }

    // unmerge restores the adapted model bit-exactly
    peft.unmerge();
    expect(peft.merged).toBe(false);
    expect(predict(peft.model, x)).toEqual(adaptedOut);
    for (const [name, w] of snapshot(peft.model)) expect(w.values).toEqual(adaptedWeights.get(name)?.values);

    // save -> load into a fresh base
    const dir = join(await mkdtemp(join(tmpdir(), 'bitnet-peft-')), 'adapter');
    await peft.save(dir);
    const fresh = c.base();
    const loaded = await loadPeftModel(fresh, dir, { warn: () => {} });
    setInference(loaded.model, true);
    expect(predict(loaded.model, x)).toEqual(adaptedOut);
    expect(loaded.countParameters()).toEqual(peft.countParameters());
    tf.dispose(x);
  });
});
