import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { byteLmTokenizer, hfLmTokenizer, type LmTokenizer } from '../data/lm-tokenizer.js';
import { BitNetError } from '../errors.js';
import { loadBitnetGguf } from '../formats/gguf/bitnet-read.js';
import { loadLlamaGguf } from '../formats/gguf/llama-gguf.js';
import { readGgufHeader } from '../formats/gguf/reader.js';
import { loadModel } from '../formats/tfjs-fs.js';
import { BitnetRunner } from '../inference/bitnet-forward.js';
import { hfRunSource, isHfDir, loadHfLanguageModel } from '../inference/hf-lm.js';
import { BITNET_ARCHITECTURE } from '../models/bitnet/spec.js';
import type { BitnetLmWeights } from '../models/bitnet/weights.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { readJsonObject } from '../util/json-file.js';
import { modelLogits, type LogitsFn } from './lm-score.js';

/** A language model to evaluate: its logits, tokenizer and context, whatever it was loaded from. */
export interface EvalSource {
  logits: LogitsFn;
  tokenizer: LmTokenizer;
  contextLength: number;
  /** 'tfjs' (a run's or an HF folder's model) or 'packed' (a GGUF on the ternary kernels, token by token). */
  engine: 'tfjs' | 'packed';
  dispose(): void;
}

/** A GGUF on the packed runner: each window fed token by token through the KV cache (the path `generate` runs). */
function runnerLogits(weights: BitnetLmWeights): LogitsFn {
  const runner = new BitnetRunner(weights);
  return async (x, batch, length) => {
    const vocab = weights.config.vocabSize;
    const out = new Float32Array(batch * length * vocab);
    for (let b = 0; b < batch; b++) {
      runner.reset();
      for (let i = 0; i < length; i++) {
        const id = x[b * length + i] as number;
        out.set(i === 0 ? await runner.prefillAsync([id]) : await runner.forwardAsync(id), (b * length + i) * vocab);
      }
    }
    return tf.tensor3d(out, [batch, length, vocab]);
  };
}

/** A run folder, an HF model folder, or a .gguf (`tokenizer`: the HF folder of a converted llama/qwen GGUF). */
export async function openEvalSource(source: string, tokenizerDir?: string): Promise<EvalSource> {
  if (source.endsWith('.gguf')) {
    const header = await readGgufHeader(source);
    const arch = header.metadata.get('general.architecture');
    const bitnet = arch?.type === 'string' && arch.value === BITNET_ARCHITECTURE;
    if (!bitnet && tokenizerDir === undefined) {
      throw new BitNetError('INVALID_ARGUMENT', `${source} is a converted HF model: give --tokenizer <the HF folder it came from>`, { field: 'tokenizer' });
    }
    const weights = bitnet ? await loadBitnetGguf(source, { packed: true }) : await loadLlamaGguf(source);
    const tokenizer = tokenizerDir === undefined ? byteLmTokenizer() : hfLmTokenizer(HfTokenizer.fromDir(tokenizerDir));
    return { logits: runnerLogits(weights), tokenizer, contextLength: weights.config.contextLength, engine: 'packed', dispose: () => {} };
  }
  if (isHfDir(source) || hfRunSource(source) !== undefined) {
    const lm = await loadHfLanguageModel(source);
    return {
      logits: modelLogits(lm.model),
      tokenizer: hfLmTokenizer(lm.tokenizer),
      contextLength: lm.config.contextLength,
      engine: 'tfjs',
      dispose: () => lm.model.dispose(),
    };
  }
  const final = existsSync(join(source, 'model.json')) ? source : join(source, 'final');
  if (!existsSync(join(final, 'model.json'))) {
    throw new BitNetError('FILE_NOT_FOUND', `no model at ${source}`, { field: 'source', hint: 'a run folder with final/, an HF model folder, or a .gguf' });
  }
  const recipePath = join(source, 'recipe.json');
  const recipe = existsSync(recipePath) ? (readJsonObject(recipePath) as { data?: { contextLength?: number } }) : {};
  const model = await loadModel(final);
  return {
    logits: modelLogits(model),
    tokenizer: byteLmTokenizer(),
    contextLength: recipe.data?.contextLength ?? 2048,
    engine: 'tfjs',
    dispose: () => model.dispose(),
  };
}
