// Converted Llama, Qwen2 and Qwen3 models in llama.cpp's own architectures, run by real llama.cpp (node-llama-cpp).
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { ggufParity } from '../../bench/lm-parity.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { loadLlamaGguf, writeLlamaGguf } from '../../src/formats/gguf/llama-gguf.js';
import { fromPretrained } from '../../src/formats/hf-pretrained.js';
import { llamaLmWeights } from '../../src/models/llama/weights.js';
import { ggufVocabularyFromHf } from '../../src/tokenizer/hf-gguf-vocabulary.js';
import { HfTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { SeededRandom } from '../../src/util/random.js';
import { tf, useBackend } from '../helpers/tf.js';

const installed = existsSync(fileURLToPath(new URL('./node_modules/node-llama-cpp/package.json', import.meta.url)));
if (!installed && process.env.BITNET_REQUIRE_INTEROP === '1')
  throw new Error('node-llama-cpp is not installed in test/interop (npm --prefix test/interop ci --omit=optional)');
if (!installed) console.warn('SKIPPED: llama.cpp Llama-family parity — node-llama-cpp is not installed in test/interop');

const TOKENIZER = fileURLToPath(new URL('../golden/tokenizer-bytelevel', import.meta.url));
const TEXT = fileURLToPath(new URL('../../data/tinyshakespeare.txt', import.meta.url));

/** A config.json of each family with TQ-compatible widths (multiples of 256) and the tokenizer of the byte-level fixture. */
function checkpoint(family: 'llama' | 'qwen2' | 'qwen3' | 'llama-tied'): string {
  const dir = mkdtempSync(join(tmpdir(), `bitnet-${family}-`));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(TOKENIZER, f), join(dir, f));
  const common = {
    vocab_size: 600,
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 2,
    max_position_embeddings: 96,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
  };
  const config = {
    llama: {
      ...common,
      model_type: 'llama',
      num_attention_heads: 4,
      num_key_value_heads: 2,
      tie_word_embeddings: false,
      rope_parameters: { rope_type: 'llama3', rope_theta: 500000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 },
    },
    'llama-tied': { ...common, model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true, rope_theta: 10000 },
    qwen2: { ...common, model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true, rope_theta: 1000000 },
    qwen3: { ...common, model_type: 'qwen3', num_attention_heads: 8, head_dim: 64, num_key_value_heads: 4, tie_word_embeddings: false, rope_theta: 1000000 },
  }[family];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Random weights that make a decisive model: unit-scale embeddings and head, norms and biases away from their defaults. */
function randomize(model: tf.LayersModel, seed: number): void {
  const rng = new SeededRandom(seed);
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w) => {
      const short = layer.weights[layer.getWeights().indexOf(w)]?.originalName.split('/').pop() ?? '';
      const n = w.size;
      const std = short.startsWith('embeddings') || layer.name === 'lm_head' ? 1 : short.startsWith('gamma') ? 0.1 : short.startsWith('bias') ? 0.5 : 0.05;
      const mean = short.startsWith('gamma') ? 1 : 0;
      return tf.tensor(
        Float32Array.from({ length: n }, () => mean + std * rng.normal()),
        w.shape,
      );
    });
    if (values.length > 0) layer.setWeights(values);
    tf.dispose(values);
  }
}

describe.runIf(installed)('llama.cpp runs converted Llama-family models in their own architectures', () => {
  beforeAll(() => useBackend('cpu'));

  it.each(['llama', 'qwen2', 'qwen3'] as const)(
    '%s: GGUF with TQ2_0 projections; greedy continuations equal in llama.cpp numerics, top-1 at least 95 percent in BitNet numerics',
    async (family) => {
      const dir = checkpoint(family);
      const { model } = await fromPretrained(dir, { weights: 'random' });
      randomize(model, 11);
      const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
      const weights = llamaLmWeights(peft.model);
      const gguf = join(dir, 'model.gguf');
      expect(await writeLlamaGguf(gguf, weights, family, ggufVocabularyFromHf(dir), { type: 'tq2_0' })).toBe(family);
      const back = await loadLlamaGguf(gguf);
      expect(back.ggufArchitecture).toBe(family);
      // q/k rows come back in HF order (llama permutes them in the file)
      expect(back.layers[1]?.proj.q.values).toEqual(weights.layers[1]?.proj.q.values);
      const tok = HfTokenizer.fromDir(dir);
      const text = readFileSync(TEXT, 'utf8');
      const result = await ggufParity(gguf, back, {
        prompts: ['ROMEO:', 'First Citizen:\n', 'KING'].map((p) => ({ text: p, tokens: tok.encode(p, { addSpecialTokens: false }) })),
        validation: tok.encode(text.slice(Math.floor(text.length * 0.9), Math.floor(text.length * 0.9) + 4000), { addSpecialTokens: false }),
        positions: 120,
        decode: (ids) => tok.decode(ids),
        steps: 16,
      });
      expect(result.greedy.map((g) => g.equal)).toEqual([true, true, true]);
      for (const c of result.cosine) expect(c).toBeGreaterThanOrEqual(0.9999);
      expect(result.agreement).toBeGreaterThanOrEqual(0.95);
      peft.dispose();
      model.dispose();
    },
  );

  it("a Llama with SubLN goes out as llama.cpp's bitnet architecture, and llama.cpp continues it as the runner does", async () => {
    const dir = checkpoint('llama-tied');
    const { model } = await fromPretrained(dir, { weights: 'random', subLn: true });
    randomize(model, 12);
    const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    const gguf = join(dir, 'model.gguf');
    expect(await writeLlamaGguf(gguf, llamaLmWeights(peft.model), 'llama', ggufVocabularyFromHf(dir), { type: 'tq2_0' })).toBe('bitnet');
    const tok = HfTokenizer.fromDir(dir);
    const result = await ggufParity(gguf, await loadBitnetGguf(gguf), {
      prompts: ['ROMEO:', 'KING'].map((p) => ({ text: p, tokens: tok.encode(p, { addSpecialTokens: false }) })),
      validation: tok.encode(readFileSync(TEXT, 'utf8').slice(0, 2000), { addSpecialTokens: false }),
      positions: 40,
      decode: (ids) => tok.decode(ids),
      steps: 16,
    });
    expect(result.greedy.map((g) => g.equal)).toEqual([true, true]);
    peft.dispose();
    model.dispose();
  });
});
