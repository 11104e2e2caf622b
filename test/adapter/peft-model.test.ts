import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BitNetAdapter, LoraAdapter } from '../../adapters/index.js';
import { getPeftModel, injectAdapter, loadPeftModel } from '../../src/adapter/peft.js';
import { loadModel, saveModel } from '../../src/formats/tfjs-fs.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { kernelToTorch, torchToKernel } from '../../src/nn/layout.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { expectBitNetError } from '../helpers/errors.js';
import { leakedTensors, tf, useBackend } from '../helpers/tf.js';
import { denseMlp, IN, inputs, predict } from './models.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'bitnet-adapter-'));
}

describe('adapters on tfjs models', () => {
  beforeAll(() => useBackend('cpu'));

  it('inject into a model loaded from model.json; the loaded model is untouched', async () => {
    const dir = await tempDir();
    await saveModel(denseMlp(), join(dir, 'base'));
    const base = await loadModel(join(dir, 'base'));
    const classes = base.layers.map((l) => l.getClassName());
    const peft = new LoraAdapter({ targetModules: 'all-linear', r: 2 }, { warn: () => {} });
    const { model, report } = peft.inject(base);
    expect(report.matched).toEqual(['fc1', 'fc2']);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['LoraLinear', 'LoraLinear', 'Dense']);
    expect(base.layers.map((l) => l.getClassName())).toEqual(classes);
    expect(model).not.toBe(base);
    expectBitNetError(() => peft.inject(base), 'INVALID_ARGUMENT');
  });

  it('BitNetAdapter.merge drops the latent weights; the merged model saves and loads', async () => {
    const peft = new BitNetAdapter({ targetModules: ['fc1', 'fc2'], groupSize: 4 });
    peft.inject(denseMlp());
    for (const l of peft.model.layers) if (l instanceof BitLinear) l.setInference(true);
    const x = inputs();
    const expected = predict(peft.model, x);
    peft.merge();
    const dir = join(await tempDir(), 'merged');
    await saveModel(peft.model, dir);
    const json = await readFile(join(dir, 'model.json'), 'utf8');
    expect(json).toContain('fc1/qkernel');
    expect(json).not.toContain('fc1/kernel');
    const loaded = await loadModel(dir);
    expect(predict(loaded, x)).toEqual(expected);
    expectBitNetError(() => peft.disable(), 'INVALID_ARGUMENT');
    const merged = peft.model.layers[0] as BitLinear;
    expectBitNetError(() => merged.setInference(false), 'INVALID_ARGUMENT');
  });

  it('toDense: plain Dense layers holding q * beta', () => {
    const base = denseMlp();
    const peft = new BitNetAdapter({ targetModules: 'all-linear' });
    peft.inject(base);
    const dense = peft.toDense();
    expect(dense.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'Dense']);
    const [kernel] = base.layers[1]?.getWeights() ?? [];
    const q = quantizeWeights(kernelToTorch(kernel?.dataSync() as Float32Array, 16, 8), [8, 16]);
    expect(dense.layers[1]?.getWeights()[0]?.dataSync()).toEqual(torchToKernel(q.dequantize(), 8, 16));
    expect(dense.layers[2]?.getWeights()[0]?.dataSync()).toEqual(base.layers[2]?.getWeights()[0]?.dataSync());
    const withNorm = new BitNetAdapter({ targetModules: ['fc1'], useRmsNorm: true });
    withNorm.inject(denseMlp());
    expectBitNetError(() => withNorm.toDense(), 'UNSUPPORTED');
  });

  it('unfreeze makes everything trainable; freeze goes back', () => {
    const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 2 });
    const frozen = peft.countParameters();
    peft.unfreeze();
    expect(peft.isFrozen).toBe(false);
    expect(peft.countParameters()).toMatchObject({ frozen: 0, trainable: frozen.total });
    peft.freeze();
    expect(peft.countParameters()).toEqual(frozen);
  });

  it('leaks no tensors across inject, merge, unmerge and dispose', async () => {
    const base = denseMlp();
    const x = inputs();
    predict(base, x);
    const leaked = await leakedTensors(() => {
      const peft = getPeftModel(base, { peftType: 'BITNET', targetModules: 'all-linear' });
      predict(peft.model, x);
      peft.merge();
      predict(peft.model, x);
      peft.unmerge();
      peft.dispose();
    });
    expect(leaked).toBe(0);
  });

  it('bad configs list every problem with its field', () => {
    // a config from JSON (injectAdapter checks it when it runs; getPeftModel's types refuse these at compile time)
    const e = expectBitNetError(
      () => injectAdapter(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 0, loraDropout: 1, bogus: 1 }),
      'INVALID_CONFIG',
    );
    expect(e.message).toContain('r:');
    expect(e.message).toContain('loraDropout');
    expect(e.message).toContain('bogus');
    expectBitNetError(() => injectAdapter(denseMlp(), { peftType: 'IA3', targetModules: ['fc1'] }), 'INVALID_CONFIG', 'peftType');
    const noMatch = expectBitNetError(() => getPeftModel(denseMlp(), { peftType: 'BITNET', targetModules: ['q_proj'] }), 'INVALID_CONFIG');
    expect(noMatch.message).toContain('Layer paths: fc1, fc2, head');
  });

  it('loading a damaged adapter folder gives BitNetErrors', async () => {
    const dir = join(await tempDir(), 'a');
    const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 2 });
    await peft.save(dir);
    await expect(loadPeftModel(denseMlp(), join(dir, 'nope'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const weights = await readFile(join(dir, 'adapter_model.safetensors'));
    await writeFile(join(dir, 'adapter_model.safetensors'), weights.subarray(0, weights.length - 10));
    await expect(loadPeftModel(denseMlp(), dir)).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    await writeFile(join(dir, 'adapter_model.safetensors'), weights);
    const other = tf.sequential({ layers: [tf.layers.dense({ units: 16, inputShape: [IN + 1], name: 'fc1' })] });
    await expect(loadPeftModel(other, dir)).rejects.toMatchObject({ code: 'CORRUPT_FILE', field: 'base_model.model.fc1.lora_A.weight' });
    await writeFile(join(dir, 'adapter_config.json'), '{"peft_type": 3}');
    await expect(loadPeftModel(denseMlp(), dir)).rejects.toMatchObject({ code: 'CORRUPT_FILE', field: 'peft_type' });
  });

  // issue #15, finding 10
  it('refuses NaN adapter weights and a modules_to_save that is not a list', async () => {
    const dir = join(await tempDir(), 'nan');
    const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 2 });
    await peft.save(dir);
    peft.dispose();
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, modules_to_save: 'head' }));
    await expect(loadPeftModel(denseMlp(), dir)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(config));
    const bytes = new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors')));
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(8 + headerLength, NaN, true);
    await writeFile(join(dir, 'adapter_model.safetensors'), bytes);
    const error = await loadPeftModel(denseMlp(), dir).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe('CORRUPT_FILE');
    expect(error?.message).toContain('is not a finite number');
  });
});
