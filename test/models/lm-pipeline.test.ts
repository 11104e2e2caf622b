import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextBatches, validationWindows } from '../../src/data/text.js';
import { writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { halfToFloat, floatToHalf } from '../../src/util/half.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { generate, sampleToken } from '../../src/inference/generate.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';
import { SeededRandom } from '../../src/util/random.js';

const CONFIG = {
  vocabSize: 257,
  hiddenSize: 256,
  intermediateSize: 256,
  numLayers: 1,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 24,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
};

describe('byte tokenizer', () => {
  it('round-trips any UTF-8 text, one token per byte', () => {
    const t = new ByteTokenizer();
    for (const text of ['', 'plain', 'héllo ✓ 日本語 🙂\n\t\u2581x', '\u0000\u007f']) {
      expect(t.decode(t.encode(text))).toBe(text);
      expect(t.encode(text)).toHaveLength(new TextEncoder().encode(text).length);
    }
    expect(ByteTokenizer.byteToUnicode()[32]).toBe('Ġ');
    expect(new Set(ByteTokenizer.byteToUnicode()).size).toBe(256);
  });
});

describe('text batches', () => {
  it('windows of T inputs and the next T targets, the same for the same step', () => {
    const tokens = Int32Array.from({ length: 1000 }, (_, i) => i % 251);
    const b = new TextBatches(tokens, 16, 4, 3);
    const first = b.batch(7);
    const again = b.batch(7);
    const x = first.x.arraySync();
    const y = first.labels.arraySync();
    expect(x).toEqual(again.x.arraySync());
    for (const [r, row] of x.entries()) expect(y[r]?.slice(0, 15)).toEqual(row.slice(1));
    expect(b.batch(8).x.arraySync()).not.toEqual(x);
    const v = validationWindows(tokens, 16, 64);
    expect(v.count).toBe(4);
    expect(v.y[0]).toBe(v.x[1]);
  });
});

describe('GGUF round trip of an LM and generation', () => {
  it('loadBitnetGguf reads back what writeBitnetGguf wrote (beta rounded to f16, or exact with .scale)', async () => {
    const w = randomBitnetWeights(CONFIG, 6);
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-lmgguf-'));
    for (const scaleTensors of [false, true]) {
      const path = join(dir, `m${scaleTensors}.gguf`);
      await writeBitnetGguf(path, w, new ByteTokenizer().ggufVocabulary(), { type: 'tq1_0', scaleTensors });
      const back = await loadBitnetGguf(path);
      expect({ ...back.config, rmsNormEps: Math.fround(back.config.rmsNormEps) }).toEqual({ ...CONFIG, rmsNormEps: Math.fround(CONFIG.rmsNormEps) });
      const q = w.layers[0]?.proj.down;
      const r = back.layers[0]?.proj.down;
      expect(r?.values).toEqual(q?.values);
      const beta = q?.scales[0] as number;
      expect(r?.scales[0]).toBe(scaleTensors ? Math.fround(1 * beta) : Math.fround(halfToFloat(floatToHalf(beta))));
      expect(back.tokenEmbedding).toEqual(w.tokenEmbedding.map((v) => halfToFloat(floatToHalf(v))));
    }
  });

  it('greedy generation equals repeated argmax; sampling is seeded; long generations shift the context', async () => {
    const w = randomBitnetWeights(CONFIG, 2, { weightStd: 1, embeddingStd: 0.02 });
    const greedy = await generate(new BitnetRunner(w), [1, 2, 3], { maxTokens: 10 });
    expect(greedy.tokens).toEqual(new BitnetRunner(w).greedy([1, 2, 3], 10));
    const a = (await generate(new BitnetRunner(w), [1, 2, 3], { maxTokens: 8, temperature: 1, topK: 20, seed: 5 })).tokens;
    const b = (await generate(new BitnetRunner(w), [1, 2, 3], { maxTokens: 8, temperature: 1, topK: 20, seed: 5 })).tokens;
    expect(a).toEqual(b);
    // past the context the cache restarts from the last half of the text (context shift)
    const long = (await generate(new BitnetRunner(w), [1, 2, 3], { maxTokens: 100 })).tokens;
    expect(long).toHaveLength(100);
    expect(long.slice(0, 21)).toEqual(new BitnetRunner(w).greedy([1, 2, 3], 21));
  });

  it('top-k sampling only picks among the k best', () => {
    const logits = Float32Array.from([0, 5, 4, -1, 3]);
    const rng = new SeededRandom(1);
    const seen = new Set(Array.from({ length: 200 }, () => sampleToken(logits, 2, 2, rng)));
    expect([...seen].sort()).toEqual([1, 2]);
    expect(sampleToken(logits, 0, 0, rng)).toBe(1);
  });
});
