// The runner's llama.cpp numerics against llama.cpp itself, logit for logit and bit for bit:
// llama-logits.c drives node-llama-cpp's own libllama (the prompt as one batch, then one token at
// a time) on GGUFs of every architecture this toolkit writes, and each position's logits must
// equal BitnetRunner(weights, 'llama.cpp')'s exactly. bench/llama-logits.ts compiles the harness
// against llama.h from the llama.cpp sources node-llama-cpp ships (llama/gitRelease.bundle).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { llamaCppLogits, llamaLogitsAvailable } from '../../bench/llama-logits.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { byteVocabulary, writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { loadLlamaGguf, writeLlamaGguf } from '../../src/formats/gguf/llama-gguf.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { headDim, type BitnetLmConfig } from '../../src/models/bitnet/config.js';
import { randomBitnetWeights, type BitnetLmWeights } from '../../src/models/bitnet/weights.js';
import { llama3FreqFactors } from '../../src/nn/rope.js';
import { SeededRandom } from '../../src/util/random.js';
import { TINY_LM_CONFIG } from '../helpers/tiny-lm.js';

const installed = llamaLogitsAvailable();
if (!installed && process.env.BITNET_REQUIRE_INTEROP === '1')
  throw new Error('node-llama-cpp 3.21.1 is not installed in test/interop (npm --prefix test/interop ci --omit=optional)');
if (!installed) console.warn('SKIPPED: llama.cpp logits — node-llama-cpp is not installed in test/interop');

const BASE: BitnetLmConfig = { ...TINY_LM_CONFIG, contextLength: 256 };

/** A random model of a Llama-family architecture: no SubLN, optional q/k/v bias, q/k norms, untied head. */
function familyWeights(config: BitnetLmConfig, seed: number): BitnetLmWeights {
  const w = randomBitnetWeights(config, seed, { weightStd: 0.3, embeddingStd: 0.5 });
  const rng = new SeededRandom(seed + 100);
  const normal = (n: number, mean: number, std: number): Float32Array => Float32Array.from({ length: n }, () => mean + std * rng.normal());
  const hd = headDim(config);
  for (const layer of w.layers) {
    delete layer.attnSubNorm;
    delete layer.ffnSubNorm;
    if (config.attentionBias === true)
      layer.bias = { q: normal(hd * config.numHeads, 0, 0.5), k: normal(hd * config.numKvHeads, 0, 0.5), v: normal(hd * config.numKvHeads, 0, 0.5) };
    if (config.qkNorm === true) {
      layer.qNorm = normal(hd, 1, 0.1);
      layer.kNorm = normal(hd, 1, 0.1);
    }
  }
  if (config.tiedHead === false) w.output = normal(config.vocabSize * config.hiddenSize, 0, 0.5);
  return w;
}

const MODELS: { name: string; family: 'bitnet' | 'llama' | 'qwen2' | 'qwen3'; type: 'tq2_0' | 'tq1_0'; config: BitnetLmConfig }[] = [
  // tied F16 head, vocabulary not a multiple of 32: ggml_vec_dot_f16 on every x86 CPU
  { name: 'bitnet (SubLN, tied head)', family: 'bitnet', type: 'tq2_0', config: BASE },
  // untied head, vocabulary a multiple of 32: the AMX buffer's kernel on CPUs with AMX
  {
    name: 'llama (llama3 RoPE, untied head)',
    family: 'llama',
    type: 'tq2_0',
    config: {
      ...BASE,
      vocabSize: 320,
      subLn: false,
      tiedHead: false,
      ropeTheta: 500000,
      ropeFreqFactors: Array.from(llama3FreqFactors(64, 500000, { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 32 })),
    },
  },
  { name: 'llama, TQ1_0', family: 'llama', type: 'tq1_0', config: { ...BASE, vocabSize: 320, subLn: false, tiedHead: false } },
  {
    name: 'qwen2 (q/k/v bias)',
    family: 'qwen2',
    type: 'tq2_0',
    config: { ...BASE, vocabSize: 352, subLn: false, attentionBias: true, tiedHead: true, ropeTheta: 1e6 },
  },
  { name: 'qwen3 (q/k norms)', family: 'qwen3', type: 'tq2_0', config: { ...BASE, subLn: false, qkNorm: true, headDim: 64, tiedHead: false, ropeTheta: 1e6 } },
];

describe.runIf(installed)('llama.cpp computes the logits of llama.cpp numerics, bit for bit', () => {
  const work = mkdtempSync(join(tmpdir(), 'bitnet-llama-logits-'));

  it.each(MODELS)('$name: every position of a batched prompt and 80 generated tokens', async ({ family, type, config }) => {
    const path = join(work, `${family}-${type}.gguf`);
    const vocab = byteVocabulary(Array.from({ length: config.vocabSize - 259 }, (_, i) => `<t${i}>`));
    let weights: BitnetLmWeights;
    if (family === 'bitnet') {
      await writeBitnetGguf(path, randomBitnetWeights(config, 7, { weightStd: 0.3, embeddingStd: 0.5 }), vocab, { type });
      weights = await loadBitnetGguf(path);
    } else {
      expect(await writeLlamaGguf(path, familyWeights(config, 7), family, vocab, { type })).toBe(family);
      weights = await loadLlamaGguf(path);
    }
    const runner = new BitnetRunner(weights, 'llama.cpp');
    const prompt = [3, 71, 140, 9, 260, 33, 101, 5, 77, 180, 41, 12];
    const ours = [runner.prefill(prompt)];
    const tokens = [...prompt];
    for (let i = 0; i < 80; i++) {
      const last = ours[ours.length - 1] as Float32Array;
      const next = last.indexOf(Math.max(...last));
      tokens.push(next);
      ours.push(runner.forward(next));
    }
    const theirs = llamaCppLogits(path, tokens, prompt.length, { vocab: config.vocabSize, context: config.contextLength, threads: 2 });
    expect(theirs.length).toBe(ours.length);
    const differing = ours.map((logits, k) => logits.filter((v, j) => !Object.is(v, (theirs[k] as Float32Array)[j])).length);
    expect(differing).toEqual(ours.map(() => 0));
    // the comparison can fail: BitNet numerics' first logits are not llama.cpp's
    const bitnet = new BitnetRunner(weights, 'bitnet').prefill(prompt);
    expect(bitnet.some((v, j) => v !== (theirs[0] as Float32Array)[j])).toBe(true);
  });
});
