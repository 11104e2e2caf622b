import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { loadNativeTier } from '../../src/kernels/native/tier.js';
import { resolveKernels } from '../../src/kernels/registry.js';
import { PROJECTIONS } from '../../src/models/bitnet/config.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { packTernary2, unpackTernary2 } from '../../src/quant/pack.js';
import { rowsLayoutCodes } from '../../src/quant/packed-codes.js';
import { TernaryWeight } from '../../src/quant/weight.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';
import { SeededRandom } from '../../src/util/random.js';
import { halfToFloat } from '../../src/util/half.js';
import { expectBitNetError } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bitnet-packed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ternary weights held packed (2 bits a weight)', () => {
  it("'rows16' codes (the native layout, converted in place) read back as the same values", () => {
    const rng = new SeededRandom(4);
    const shape = [48, 700] as const;
    const q = Int8Array.from({ length: shape[0] * shape[1] }, () => rng.int(3) - 1);
    const codes = { bytes: packTernary2(q, shape), layout: 'rows' as const };
    const w = TernaryWeight.packed({ bytes: codes.bytes.slice(), layout: 'rows' }, Float32Array.of(0.5), shape, 'tensor');
    expect(w.values).toEqual(q);
    const kernels = resolveKernels();
    const packed = w.packedCodes;
    if (packed === undefined) throw new Error('not packed');
    const up = kernels.ternary.uploadCodes?.(packed, shape[0], 768);
    // the native vector kernels convert in place; other tiers leave the codes alone
    if (up !== undefined && packed.layout === 'rows16') {
      expect(up.codes).toBe(packed.bytes);
      expect(packed.bytes).not.toEqual(codes.bytes);
    }
    expect(w.values).toEqual(q);
    expect(rowsLayoutCodes(packed, shape)).toEqual(codes.bytes);
    expect(unpackTernary2(rowsLayoutCodes(packed, shape), shape)).toEqual(q);
  });

  it('refuses codes of the wrong size', () => {
    expectBitNetError(
      () => TernaryWeight.packed({ bytes: new Uint8Array(10), layout: 'rows' }, Float32Array.of(1), [16, 256], 'tensor'),
      'INVALID_SHAPE',
      'codes',
    );
  });
});

describe('a GGUF loaded packed for decoding', () => {
  const config = {
    vocabSize: 96,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: 48,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  };
  const path = join(dir, 'lm.gguf');
  const prompt = [5, 17, 33, 2, 90, 41, 7];

  it('holds codes and halves only, and decodes exactly as the plain load (both numerics, prefill and steps)', async () => {
    await writeBitnetGguf(path, randomBitnetWeights(config, 3, { weightStd: 0.3, embeddingStd: 0.5 }), new ByteTokenizer().ggufVocabulary(), { type: 'tq2_0' });
    const plain = await loadBitnetGguf(path);
    for (const numerics of ['bitnet', 'llama.cpp'] as const) {
      const packed = await loadBitnetGguf(path, { packed: true });
      for (const [i, layer] of packed.layers.entries()) {
        for (const p of PROJECTIONS) {
          expect(layer.proj[p].packedCodes?.layout, `${p} ${i}`).toBe('rows');
          expect(layer.proj[p].values).toEqual(plain.layers[i]?.proj[p].values);
          expect(layer.proj[p].scales).toEqual(plain.layers[i]?.proj[p].scales);
        }
      }
      expect(packed.tokenEmbeddingHalf).toBeDefined();
      const a = new BitnetRunner(plain, numerics);
      const b = new BitnetRunner(packed, numerics);
      // BitNet numerics upload the codes themselves: the native vector kernels convert them in place
      if (numerics === 'bitnet' && resolveKernels().providers.ternary === 'native' && loadNativeTier()?.detail !== 'scalar') {
        expect(packed.layers[0]?.proj.q.packedCodes?.layout).toBe('rows16');
      }
      expect(b.prefill(prompt)).toEqual(a.prefill(prompt));
      for (const t of [3, 60, 11]) expect(b.forward(t)).toEqual(a.forward(t));
      expect(b.greedy([1, 2], 6)).toEqual(a.greedy([1, 2], 6));
      // the float32 embedding is decoded only when read, to the halves' values
      expect(packed.tokenEmbedding).toEqual(Float32Array.from(packed.tokenEmbeddingHalf ?? [], halfToFloat));
      expect(packed.tokenEmbedding).toEqual(plain.tokenEmbedding);
    }
  });

  it('a TQ1_0 GGUF loads as values (no packed TQ2 codes to keep)', async () => {
    const weights = randomBitnetWeights(config, 4, { weightStd: 0.3 });
    const path2 = join(dir, 'tq1.gguf');
    await writeBitnetGguf(path2, weights, new ByteTokenizer().ggufVocabulary(), { type: 'tq1_0' });
    const packed = await loadBitnetGguf(path2, { packed: true });
    expect(packed.layers[0]?.proj.q.packedCodes).toBeUndefined();
    expect(packed.layers[0]?.proj.q.values).toEqual(weights.layers[0]?.proj.q.values);
  });
});
