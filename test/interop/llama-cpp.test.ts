// Interop with real llama.cpp, through node-llama-cpp 3.21.1 installed in test/interop/ (not a
// dependency of the package: .ci/run installs it with `npm ci --omit=optional --ignore-scripts`).
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { byteVocabulary, writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { type BitnetLmConfig } from '../../src/models/bitnet/config.js';
import { randomBitnetWeights, type BitnetLmWeights } from '../../src/models/bitnet/weights.js';
import { withLoraGguf, writeLoraGguf } from '../../src/formats/gguf/lora-gguf.js';
import type { LowRankDelta } from '../../src/nn/low-rank.js';
import { seededArray } from '../helpers/tf.js';
import { TINY_LM_CONFIG } from '../helpers/tiny-lm.js';

const installed = existsSync(fileURLToPath(new URL('./node_modules/node-llama-cpp/package.json', import.meta.url)));
if (!installed && process.env.BITNET_REQUIRE_INTEROP === '1')
  throw new Error('node-llama-cpp is not installed in test/interop (npm --prefix test/interop ci --omit=optional)');
if (!installed)
  console.warn(
    'SKIPPED: llama.cpp interop — node-llama-cpp is not installed in test/interop (run: npm --prefix test/interop ci --omit=optional --ignore-scripts)',
  );

const CONFIG: BitnetLmConfig = TINY_LM_CONFIG;
const PIECES = Array.from({ length: 41 }, (_, i) => `\u2581p${i}`);
const PROMPTS = [[5, 77, 120, 260, 33], [3, 14, 25], [299, 1, 150, 151, 152, 7, 8], [42]];

/** The part of node-llama-cpp's API these tests use (typed here: the package is optional). */
interface Sequence {
  evaluate(tokens: number[], options: Record<string, unknown>): AsyncGenerator<number>;
  evaluateWithMetadata(
    tokens: number[],
    metadata: { probabilities: true },
    options: Record<string, unknown>,
  ): AsyncGenerator<{ probabilities: Map<number, number> }>;
  /** Frees the sequence's id for the next getSequence() once it resolves (node-llama-cpp 3.x). */
  dispose(): Promise<void>;
}
interface Context {
  getSequence(): Sequence;
  dispose(): Promise<void>;
}
interface Model {
  fileInfo: { metadata: { general: { architecture: string } } };
  createContext(options: Record<string, unknown>): Promise<Context>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(options: { modelPath: string }): Promise<Model>;
  dispose(): Promise<void>;
}
let llama: Llama | undefined;

async function loadLlama(): Promise<Llama> {
  if (llama === undefined) {
    const specifier = 'node-llama-cpp';
    const lib = (await import(specifier)) as { getLlama(o: Record<string, unknown>): Promise<Llama>; LlamaLogLevel: { error: string } };
    llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
  }
  return llama;
}

afterAll(async () => {
  await llama?.dispose();
});

describe.runIf(installed)('llama.cpp (node-llama-cpp 3.21.1) runs what the exporter writes', () => {
  it.each([
    ['tq2_0', false],
    ['tq1_0', false],
    ['tq2_0', true],
  ] as const)('a tiny bitnet-architecture model (%s, scale tensors: %s): same greedy tokens as this toolkit', async (type, scaleTensors) => {
    const weights = randomBitnetWeights(CONFIG, 2, { weightStd: 1, embeddingStd: 0.02 });
    const path = join(await mkdtemp(join(tmpdir(), 'bitnet-interop-')), `tiny-${type}.gguf`);
    await writeBitnetGguf(path, weights, byteVocabulary(PIECES), { type, scaleTensors });
    const model = await (await loadLlama()).loadModel({ modelPath: path });
    expect(model.fileInfo.metadata.general.architecture).toBe('bitnet');
    const context = await model.createContext({ contextSize: 64, flashAttention: false });
    for (const prompt of PROMPTS) {
      const ours = new BitnetRunner(weights, 'llama.cpp', { scaleTensors }).greedy(prompt, 12);
      const sequence = context.getSequence();
      const theirs: number[] = [];
      for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
        theirs.push(token);
        if (theirs.length === ours.length) break;
      }
      await sequence.dispose();
      expect(theirs, `prompt ${prompt.join(',')}`).toEqual(ours);
    }
    await context.dispose();
    await model.dispose();
  });

  it('a LoRA adapter GGUF beside the base (issue #17): llama.cpp with it gives the greedy tokens of our llama.cpp numerics', async () => {
    const base = randomBitnetWeights(CONFIG, 5, { weightStd: 1, embeddingStd: 0.02 });
    const random = (n: number, seed: number, std: number): Float32Array => Float32Array.from(seededArray(n, seed, std * Math.sqrt(3)));
    // ranks 8 and 16: with AVX-512 a batch's B product of rank 8 is not a multiple of tinyBLAS's 16 lanes (ggml_vec_dot_f16 instead)
    const delta = (inF: number, out: number, rank: number, seed: number): LowRankDelta => ({
      a: random(rank * inF, seed, 0.05),
      b: random(out * rank, seed + 1, 0.5),
      rank,
      alpha: 16,
    });
    const weights: BitnetLmWeights = {
      ...base,
      layers: base.layers.map((l, i) => ({
        ...l,
        lora: {
          q: delta(CONFIG.hiddenSize, CONFIG.hiddenSize, 8, 10 + i),
          down: delta(CONFIG.intermediateSize, CONFIG.hiddenSize, 16, 20 + i),
          up: delta(CONFIG.hiddenSize, CONFIG.intermediateSize, 16, 30 + i),
        },
      })),
    };
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-interop-lora-'));
    const basePath = join(dir, 'base.gguf');
    const adapterPath = join(dir, 'base.lora.gguf');
    await expect(writeBitnetGguf(basePath, weights, byteVocabulary(PIECES), { type: 'tq2_0' })).rejects.toThrow(/unmerged LoRA/);
    await writeBitnetGguf(basePath, weights, byteVocabulary(PIECES), { type: 'tq2_0', loraSeparate: true });
    await writeLoraGguf(adapterPath, weights);
    const ours = await withLoraGguf(base, adapterPath);
    expect(ours.layers[1]?.lora?.down?.rank).toBe(16);
    const model = await (await loadLlama()).loadModel({ modelPath: basePath });
    const greedy = async (lora: boolean): Promise<number[][]> => {
      const context = await model.createContext({
        contextSize: 64,
        flashAttention: false,
        ...(lora ? { lora: { adapters: [{ filePath: adapterPath }] } } : {}),
      });
      const out: number[][] = [];
      for (const prompt of PROMPTS) {
        const sequence = context.getSequence();
        const tokens: number[] = [];
        for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
          tokens.push(token);
          if (tokens.length === 12) break;
        }
        await sequence.dispose();
        out.push(tokens);
      }
      await context.dispose();
      return out;
    };
    const theirs = await greedy(true);
    PROMPTS.forEach((prompt, i) => expect(theirs[i], `prompt ${prompt.join(',')}`).toEqual(new BitnetRunner(ours, 'llama.cpp').greedy(prompt, 12)));
    // the adapter matters: without it llama.cpp continues otherwise
    const plain = await greedy(false);
    expect(plain).not.toEqual(theirs);
    PROMPTS.forEach((prompt, i) => expect(plain[i]).toEqual(new BitnetRunner(base, 'llama.cpp').greedy(prompt, 12)));
    await model.dispose();
  });

  it('llama.cpp tokenizes the whole corpus exactly as the byte tokenizer does, and detokenizes it back', async () => {
    const { ByteTokenizer } = await import('../../src/tokenizer/byte-tokenizer.js');
    const { readFileSync } = await import('node:fs');
    const tokenizer = new ByteTokenizer();
    const path = join(await mkdtemp(join(tmpdir(), 'bitnet-interop-')), 'bytes.gguf');
    await writeBitnetGguf(path, randomBitnetWeights({ ...CONFIG, vocabSize: tokenizer.vocabSize, numLayers: 1 }, 4), tokenizer.ggufVocabulary(), {
      type: 'tq2_0',
    });
    const model = (await (await loadLlama()).loadModel({ modelPath: path })) as Model & {
      tokenize(text: string): number[];
      detokenize(tokens: number[]): string;
    };
    const corpus = readFileSync(fileURLToPath(new URL('../../data/tinyshakespeare.txt', import.meta.url)), 'utf8');
    for (const text of [corpus, 'héllo ✓ 日本語 🙂', '  two  spaces\n\ttab']) {
      const ours = tokenizer.encode(text);
      const theirs = model.tokenize(text);
      expect(theirs.length).toBe(ours.length);
      expect(theirs.every((t, i) => t === ours[i])).toBe(true);
      expect(model.detokenize(theirs)).toBe(text);
      expect(tokenizer.decode(ours)).toBe(text);
    }
    await model.dispose();
  });

  it('next-token probabilities are the same as llama.cpp computes (no flash attention)', async () => {
    const weights = randomBitnetWeights(CONFIG, 1, { weightStd: 0.3, embeddingStd: 0.05 });
    const path = join(await mkdtemp(join(tmpdir(), 'bitnet-interop-')), 'tiny.gguf');
    await writeBitnetGguf(path, weights, byteVocabulary(PIECES), { type: 'tq2_0' });
    const model = await (await loadLlama()).loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 64, flashAttention: false });
    for (const prompt of PROMPTS) {
      const runner = new BitnetRunner(weights, 'llama.cpp');
      let logits: Float32Array = new Float32Array(0);
      for (const t of prompt) logits = runner.forward(t);
      const max = Math.max(...logits);
      const exp = Array.from(logits, (l) => Math.exp(l - max));
      const total = exp.reduce((a, b) => a + b, 0);
      const ours = exp.map((e) => e / total);
      const nextProbabilities = async (): Promise<Map<number, number>> => {
        const sequence = context.getSequence();
        let probabilities = new Map<number, number>();
        for await (const out of sequence.evaluateWithMetadata(prompt, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 })) {
          probabilities = out.probabilities;
          break;
        }
        await sequence.dispose();
        return probabilities;
      };
      // node-llama-cpp once gave an empty map for the one-token prompt in a loaded CI run (not
      // reproduced alone or in this file): ask once more before failing
      let theirs = await nextProbabilities();
      if (theirs.size === 0) theirs = await nextProbabilities();
      expect(theirs.size, `llama.cpp's probabilities for prompt ${prompt.join(',')}`).toBeGreaterThan(0);
      let dot = 0;
      let a2 = 0;
      let b2 = 0;
      ours.forEach((p, i) => {
        const q = theirs.get(i) ?? 0;
        dot += p * q;
        a2 += p * p;
        b2 += q * q;
      });
      expect(dot / Math.sqrt(a2 * b2), `prompt ${prompt.join(',')}`).toBeGreaterThanOrEqual(0.99999);
      const worst = ours.reduce((m, p, i) => Math.max(m, Math.abs(Math.log(p) - Math.log(theirs.get(i) ?? 0))), 0);
      expect(worst, 'largest |log p - log q|').toBeLessThan(1e-3);
    }
    await context.dispose();
    await model.dispose();
  });
});
