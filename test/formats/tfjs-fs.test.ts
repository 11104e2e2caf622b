import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, registerFileRouters, saveModel } from '../../src/formats/tfjs-fs.js';
import { bitLinear, type BitLinearArgs } from '../../src/nn/bit-linear.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'bitnet-fs-'));
}

function buildModel(inputShape: number[], args: Partial<BitLinearArgs>): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  const hidden = bitLinear({ units: 32, name: 'proj', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), ...args }).apply(input);
  const act = tf.layers.activation({ activation: 'relu' }).apply(hidden);
  const out = bitLinear({ units: 8, name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }), ...args }).apply(act);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
}

const VARIANTS: [string, number[], Partial<BitLinearArgs>][] = [
  ['2-D, no bias, no RMSNorm', [48], { useBias: false, useRmsNorm: false }],
  ['2-D, bias and RMSNorm', [48], { useBias: true, useRmsNorm: true }],
  ['3-D, bias, group 16', [5, 48], { useBias: true, groupSize: 16 }],
  ['3-D, RMSNorm, per-tensor 4-bit activations', [5, 48], { useRmsNorm: true, activationBits: 4, activationScope: 'tensor' }],
  ['2-D, inference mode, lambda 0.3', [48], { inference: true, quantLambda: 0.3 }],
];

describe('save -> load round trip of models with BitLinear', () => {
  beforeAll(() => useBackend('cpu'));

  for (const [name, shape, args] of VARIANTS) {
    it(name, async () => {
      const model = buildModel(shape, args);
      // Move the weights away from their initial values so the round trip is not vacuous.
      model.setWeights(model.getWeights().map((w, i) => tf.add(w, tf.tensor(seededArray(w.size, i + 1, 0.05), w.shape))));
      const x = tf.tensor(seededArray(3 * shape.reduce((a, b) => a * b, 1), 9, 1.5), [3, ...shape]);
      const before = (model.predict(x) as tf.Tensor).dataSync();
      const dir = await tempDir();
      await saveModel(model, join(dir, 'm'));
      expect((await readdir(join(dir, 'm'))).sort()).toEqual(['model.json', 'weights.bin']);
      expect(await readdir(dir)).toEqual(['m']);
      const loaded = await loadModel(join(dir, 'm'));
      expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
      expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
      const after = (loaded.predict(x) as tf.Tensor).dataSync();
      expect(after).toEqual(before);
      const json = JSON.parse(await readFile(join(dir, 'm', 'model.json'), 'utf8')) as { modelTopology: unknown };
      expect(JSON.stringify(json.modelTopology)).toContain('BitLinear');
      model.dispose();
      loaded.dispose();
      x.dispose();
    });
  }

  it('saving over an existing folder replaces it and leaves no temp files', async () => {
    const dir = await tempDir();
    const a = buildModel([48], {});
    const b = buildModel([48], { useBias: true });
    await saveModel(a, join(dir, 'm'));
    await saveModel(b, join(dir, 'm'));
    expect(await readdir(dir)).toEqual(['m']);
    const loaded = await loadModel(join(dir, 'm'));
    expect(loaded.getWeights().length).toBe(b.getWeights().length);
    [a, b, loaded].forEach((m) => m.dispose());
  });

  it('file:// URLs work through model.save and tf.loadLayersModel', async () => {
    registerFileRouters();
    registerFileRouters();
    const dir = await tempDir();
    const model = buildModel([48], { useBias: true });
    await model.save(`file://${join(dir, 'u')}`);
    const loaded = await tf.loadLayersModel(`file://${join(dir, 'u', 'model.json')}`);
    const x = tf.ones([2, 48]);
    expect((loaded.predict(x) as tf.Tensor).dataSync()).toEqual((model.predict(x) as tf.Tensor).dataSync());
    [model, loaded].forEach((m) => m.dispose());
  });

  it('a missing folder, a corrupt model.json or truncated weights give BitNetErrors', async () => {
    const dir = await tempDir();
    await expect(loadModel(join(dir, 'nope'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const model = buildModel([48], {});
    await saveModel(model, join(dir, 'm'));
    const weights = await readFile(join(dir, 'm', 'weights.bin'));
    await writeFile(join(dir, 'm', 'weights.bin'), weights.subarray(0, weights.length - 8));
    await expect(loadModel(join(dir, 'm'))).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    await writeFile(join(dir, 'm', 'model.json'), '{"modelTopology": ');
    await expect(loadModel(join(dir, 'm'))).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    model.dispose();
  });
});
