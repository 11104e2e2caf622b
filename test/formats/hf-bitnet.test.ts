import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportHfBitnet, importHfBitnet } from '../../src/formats/hf-bitnet.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { type BitnetLmConfig } from '../../src/models/bitnet/config.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { readGolden } from '../helpers/golden.js';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));

describe('HuggingFace BitNet checkpoints', () => {
  it.each(['bitlinear', 'autobitlinear'] as const)(
    'imports a transformers %s checkpoint and computes the logits transformers computes',
    async (linearClass) => {
      const w = await importHfBitnet(golden(`hf-bitnet-${linearClass}`));
      expect(w.linearClass).toBe(linearClass);
      expect(w.config).toMatchObject({ hiddenSize: 256, numLayers: 2, numHeads: 4, numKvHeads: 2, vocabSize: 300 });
      expect(w.layers[0]?.proj.q.scales[0]).toBeCloseTo(0.25, 6);
      expect(w.layers[1]?.proj.down.scales[0]).toBeCloseTo(0.35, 6);
      const ref = readGolden<{ prompts: number[][]; logits: number[][][] }>(`hf-bitnet-${linearClass}/logits.json`);
      ref.prompts.forEach((prompt, p) => {
        const runner = new BitnetRunner(w, 'bitnet');
        prompt.forEach((token, pos) => {
          const ours = runner.forward(token);
          const theirs = ref.logits[p]?.[pos] as number[];
          const scale = Math.max(...theirs.map(Math.abs));
          const worst = theirs.reduce((m, v, i) => Math.max(m, Math.abs(v - (ours[i] as number))), 0);
          expect(worst / scale, `prompt ${p} position ${pos}`).toBeLessThan(2e-3);
          expect(ours.indexOf(Math.max(...ours))).toBe(theirs.indexOf(Math.max(...theirs)));
        });
      });
    },
  );

  it.each(['bitlinear', 'autobitlinear'] as const)('exports what it imports (%s): same ternary weights, scales, norms and embeddings', async (linearClass) => {
    const config: BitnetLmConfig = {
      vocabSize: 64,
      hiddenSize: 256,
      intermediateSize: 512,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 4,
      contextLength: 32,
      ropeTheta: 500000,
      rmsNormEps: 1e-5,
    };
    const w = randomBitnetWeights(config, 5);
    const dir = join(await mkdtemp(join(tmpdir(), 'bitnet-hf-')), 'ckpt');
    await exportHfBitnet(dir, w, linearClass);
    const back = await importHfBitnet(dir);
    expect(back.config).toEqual({ ...config, hiddenAct: 'silu' });
    expect(back.tokenEmbedding).toEqual(w.tokenEmbedding);
    for (const [i, layer] of w.layers.entries()) {
      for (const [name, t] of Object.entries(layer.proj)) {
        const other = back.layers[i]?.proj[name as keyof typeof layer.proj];
        expect(other?.values).toEqual(t.values);
        expect(Math.abs((other?.scales[0] as number) - (t.scales[0] as number)) / (t.scales[0] as number)).toBeLessThan(1e-6);
      }
      expect(back.layers[i]?.ffnSubNorm).toEqual(layer.ffnSubNorm);
    }
  });

  it('keeps a ReLU² (2B4T-style) model ReLU² through HF export/import; GGUF export refuses it', async () => {
    const { writeBitnetGguf } = await import('../../src/formats/gguf/bitnet-write.js');
    const config: BitnetLmConfig = {
      vocabSize: 32,
      hiddenSize: 256,
      intermediateSize: 256,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 4,
      contextLength: 16,
      ropeTheta: 500000,
      rmsNormEps: 1e-5,
      hiddenAct: 'relu2',
    };
    const w = randomBitnetWeights(config, 2);
    const dir = join(await mkdtemp(join(tmpdir(), 'bitnet-hf-')), 'ckpt');
    await exportHfBitnet(dir, w);
    expect((await importHfBitnet(dir)).config.hiddenAct).toBe('relu2');
    await expect(writeBitnetGguf(join(dir, 'x.gguf'), w, { model: 'llama', tokens: ['a'] }, { type: 'tq2_0' })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      field: 'hiddenAct',
    });
  });

  it('reports a missing or broken checkpoint', async () => {
    await expect(importHfBitnet('/nonexistent')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
