// Issue #17: LoRA trains on a deployed ternary model. A merged BitLinear computes with integers
// (no latent kernel), and its product had no gradient to its input: LoRA on a layer below it, or
// anything below it, was cut off from the loss ("Cannot find a connection between any variable
// and the result of the loss function"). The gradient is dX = dY · (beta · q)ᵀ, straight through
// the activation quantization: checked against that formula, then the README's order (QAT,
// merge, LoRA on the merged model, fit) must lower the loss.
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPeftModel } from '../../src/adapter/peft.js';
import { loadModel, saveModel } from '../../src/formats/tfjs-fs.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { byteVocabulary, writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { lmModelFromWeights } from '../../src/models/bitnet/tfjs.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { TINY_LM_CONFIG } from '../helpers/tiny-lm.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';
import { denseMlp, inputs } from './models.js';

describe('LoRA on a merged ternary model', () => {
  beforeAll(async () => useBackend('cpu'));

  it('a merged BitLinear passes dY · (beta · q)ᵀ to its input, per tensor and per group', () => {
    for (const groupSize of ['tensor', 4] as const) {
      const layer = new BitLinear({
        units: 6,
        groupSize,
        useRmsNorm: false,
        name: `g${groupSize}`,
        kernelInitializer: tf.initializers.randomNormal({ seed: 3 }),
      });
      const x = tf.tensor2d(seededArray(5 * 8, 7), [5, 8]);
      layer.apply(x);
      layer.freeze();
      const ternary = layer.ternaryWeight();
      const cotangent = tf.tensor2d(seededArray(5 * 6, 8), [5, 6]);
      const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, cotangent)))(x);
      // dX[n, i] = sum over o of dY[n, o] · beta(o, i) · q[o, i] (PyTorch layout [out, in])
      const dy = cotangent.dataSync();
      const want = new Float32Array(5 * 8);
      for (let n = 0; n < 5; n++)
        for (let i = 0; i < 8; i++) {
          let sum = 0;
          for (let o = 0; o < 6; o++) {
            const beta = ternary.scales[groupSize === 'tensor' ? 0 : o * (8 / groupSize) + Math.floor(i / groupSize)] as number;
            sum += (dy[n * 6 + o] as number) * beta * (ternary.values[o * 8 + i] as number);
          }
          want[n * 8 + i] = sum;
        }
      const got = dx.dataSync();
      want.forEach((w, i) => expect(got[i], `${groupSize} ${i}`).toBeCloseTo(w, 5));
      expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(1e-3);
      tf.dispose([x, cotangent, dx]);
      layer.dispose();
    }
  });

  it('QAT, merge, then LoRA on the merged model trains (the README order)', async () => {
    const bitnet = getPeftModel(denseMlp(), { peftType: 'BITNET', targetModules: ['fc1', 'fc2'] });
    bitnet.merge();
    expect(bitnet.model.getLayer('fc2')).toBeInstanceOf(BitLinear);
    expect((bitnet.model.getLayer('fc2') as BitLinear).merged).toBe(true);
    const lora = getPeftModel(bitnet.model, { peftType: 'LORA', targetModules: ['fc1'], r: 4, loraAlpha: 8 });
    const model = lora.model;
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
    const x = inputs(32, 11);
    const y = tf.tensor2d(seededArray(32 * 4, 12), [32, 4]);
    const history = await model.fit(x, y, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0 });
    const losses = history.history.loss as number[];
    expect(losses.at(-1) as number).toBeLessThan(0.9 * (losses[0] as number));
    // only the adapter trained: the merged ternary layers are unchanged integers
    const fc2 = model.getLayer('fc2') as BitLinear;
    expect(new Set(fc2.ternaryWeight().values).size).toBeLessThanOrEqual(3);
    tf.dispose([x, y]);
    lora.dispose();
    bitnet.dispose();
  });

  it('LoRA on a model loaded from a GGUF trains (the loaded model computes what the runner computes)', async () => {
    const weights = randomBitnetWeights({ ...TINY_LM_CONFIG, numLayers: 1 }, 8, { weightStd: 1, embeddingStd: 0.1 });
    const path = join(mkdtempSync(join(tmpdir(), 'bitnet-gguf-lora-')), 'base.gguf');
    await writeBitnetGguf(path, weights, byteVocabulary(Array.from({ length: 41 }, (_, i) => `p${i}`)), { type: 'tq2_0' });
    const loaded = await loadBitnetGguf(path);
    const model = lmModelFromWeights(loaded);
    const tokens = [5, 77, 120, 260, 33, 9, 41, 200];
    const logits = tf.tidy(() => (model.predict(tf.tensor2d([tokens], [1, 8], 'int32')) as tf.Tensor).arraySync() as number[][][]);
    const runner = new BitnetRunner(loaded, 'bitnet');
    tokens.forEach((t, pos) => {
      const ours = runner.forward(t);
      const theirs = logits[0]?.[pos] as number[];
      const scale = Math.max(...theirs.map(Math.abs));
      expect(theirs.reduce((m, v, i) => Math.max(m, Math.abs(v - (ours[i] as number))), 0) / scale, `position ${pos}`).toBeLessThan(1e-4);
    });

    // the codes are held packed (2 bits a weight in int32 words), and save and load as they are
    const q = model.getLayer('blk.0.attn_q') as BitLinear;
    expect(q.packed).toBe(true);
    expect(q.weights.map((w) => `${w.originalName.split('/').pop() ?? ''} ${w.dtype}`)).toEqual(['qcodes int32', 'scales float32']);
    expect(Array.from(q.ternaryWeight().values)).toEqual(Array.from(loaded.layers[0]?.proj.q.values ?? []));
    const saved = join(mkdtempSync(join(tmpdir(), 'bitnet-packed-')), 'model');
    await saveModel(model, saved);
    const reloaded = await loadModel(saved);
    const again = tf.tidy(() => (reloaded.predict(tf.tensor2d([tokens], [1, 8], 'int32')) as tf.Tensor).arraySync() as number[][][]);
    expect(again).toEqual(logits);
    reloaded.dispose();
    const lora = getPeftModel(model, { peftType: 'LORA', targetModules: ['attn_q', 'attn_v', 'ffn_down'], r: 4, loraAlpha: 8 });
    model.dispose();
    const seq = Array.from({ length: 33 }, (_, i) => (i * 7) % 13);
    const x = tf.tensor2d([seq.slice(0, 32)], [1, 32], 'int32');
    const y = tf.oneHot(tf.tensor1d(seq.slice(1), 'int32'), TINY_LM_CONFIG.vocabSize);
    const loss = (): tf.Scalar =>
      tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(y, tf.reshape(lora.model.apply(x, { training: true }) as tf.Tensor, [32, -1]));
    const opt = tf.train.adam(1e-2);
    const first = tf.tidy(() => loss().dataSync()[0] as number);
    const trainable = lora.model.trainableWeights.map((w) => w.read() as tf.Variable);
    expect(trainable.length).toBe(6);
    for (let i = 0; i < 20; i++) tf.dispose(opt.minimize(loss, true, trainable) ?? []);
    const last = tf.tidy(() => loss().dataSync()[0] as number);
    expect(last).toBeLessThan(0.8 * first);
    tf.dispose([x, y]);
    opt.dispose();
    lora.dispose();
  });
});
