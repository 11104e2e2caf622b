// llama.cpp parity of a BitNet LM: exports a run to GGUF, loads it in node-llama-cpp (test/interop)
// and compares (1) greedy continuations, llama.cpp's logits at each of their positions (libllama,
// bench/llama-logits.ts) and last-position next-token probabilities in llama.cpp numerics, (2) the
// default (BitNet) numerics' top-1 token at each of N validation positions.
// Usage (after npm run build and npm --prefix test/interop ci --omit=optional --ignore-scripts):
//   node dist/bench/lm-parity.js runs/shakespeare-lm-bitnet [positions=1000]
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBitnetGguf } from '../src/formats/gguf/bitnet-write.js';
import { BitnetRunner } from '../src/inference/bitnet-forward.js';
import { loadLmWeights } from '../src/inference/load-lm.js';
import { packageRoot } from '../src/kernels/package-root.js';
import { ByteTokenizer } from '../src/tokenizer/byte-tokenizer.js';
import { llamaCppLogits, llamaLogitsAvailable } from './llama-logits.js';
import type { BitnetLmWeights } from '../src/models/bitnet/weights.js';

export interface ParityResult {
  greedy: { prompt: string; equal: boolean; ours: string; theirs: string }[];
  /** Per prompt: llama.cpp's logits (libllama, bench/llama-logits.ts) against the runner's in llama.cpp numerics at each position of the greedy continuation. */
  logits?: { prompt: string; positions: number; differing: number }[];
  cosine: number[];
  agreement: number;
  positions: number;
}

interface Probabilities {
  get(token: number): number | undefined;
  [Symbol.iterator](): Iterator<[number, number]>;
}

interface LlamaSequence {
  evaluate(tokens: number[], options: object): AsyncIterable<number>;
  evaluateWithMetadata(tokens: number[], metadata: object, options: object): AsyncIterable<{ probabilities: Probabilities }>;
  /** Frees the sequence's id for the next getSequence() once it resolves (node-llama-cpp 3.x). */
  dispose(): Promise<void>;
}

interface NodeLlamaCpp {
  getLlama(o: object): Promise<{
    loadModel(o: {
      modelPath: string;
    }): Promise<{ createContext(o: object): Promise<{ getSequence(): LlamaSequence; dispose(): Promise<void> }>; dispose(): Promise<void> }>;
    dispose(): Promise<void>;
  }>;
  LlamaLogLevel: { error: unknown };
}

/** The package's node-llama-cpp (test/interop), or undefined when it is not installed. */
export async function importLlamaCpp(): Promise<NodeLlamaCpp | undefined> {
  try {
    const req = createRequire(join(packageRoot(), 'test', 'interop', 'package.json'));
    return (await import(req.resolve('node-llama-cpp'))) as NodeLlamaCpp;
  } catch {
    return undefined;
  }
}

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let k = 1; k < v.length; k++) if ((v[k] as number) > (v[best] as number)) best = k;
  return best;
};

export async function lmParity(run: string, positions = 1000, prompts = ['ROMEO:', 'First Citizen:\n', 'KING']): Promise<ParityResult> {
  const gguf = join(mkdtempSync(join(tmpdir(), 'bitnet-parity-')), 'lm.gguf');
  await writeBitnetGguf(gguf, await loadLmWeights(run), new ByteTokenizer().ggufVocabulary(), { type: 'tq2_0' });
  const tok = new ByteTokenizer();
  const text = readFileSync(join(packageRoot(), 'data', 'tinyshakespeare.txt'), 'utf8');
  return ggufParity(gguf, await loadLmWeights(gguf), {
    prompts: prompts.map((p) => ({ text: p, tokens: tok.encode(p) })),
    validation: tok.encode(text.slice(Math.floor(text.length * 0.9))),
    positions,
    decode: (ids) => tok.decode(ids),
  });
}

/**
 * A GGUF in real llama.cpp against the runner on the same weights: greedy continuations and
 * next-token probabilities after each prompt in llama.cpp numerics, and the BitNet numerics'
 * top-1 agreement over `positions` validation tokens (windows of the context length).
 */
export async function ggufParity(
  gguf: string,
  weights: BitnetLmWeights,
  input: { prompts: { text: string; tokens: number[] }[]; validation: readonly number[]; positions: number; decode: (ids: number[]) => string; steps?: number },
): Promise<ParityResult> {
  const lib = await importLlamaCpp();
  if (lib === undefined) throw new Error('node-llama-cpp is not installed in test/interop (npm --prefix test/interop ci --omit=optional --ignore-scripts)');
  const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: gguf });
  const ctxLen = weights.config.contextLength;
  const context = await model.createContext({ contextSize: ctxLen, flashAttention: false });
  const probsAfter = async (seq: LlamaSequence, tokens: number[]): Promise<Probabilities> => {
    for await (const out of seq.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0, yieldEogToken: true }))
      return out.probabilities;
    throw new Error('llama.cpp returned no probabilities');
  };
  const result: ParityResult = { greedy: [], cosine: [], agreement: 0, positions: 0 };
  for (const { text, tokens: prompt } of input.prompts) {
    const steps = Math.min(input.steps ?? 32, ctxLen - prompt.length - 1);
    const ours = new BitnetRunner(weights, 'llama.cpp').greedy(prompt, steps);
    const seq = context.getSequence();
    const theirs: number[] = [];
    for await (const t of seq.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
      theirs.push(t);
      if (theirs.length === steps) break;
    }
    await seq.dispose();
    result.greedy.push({ prompt: text, equal: JSON.stringify(ours) === JSON.stringify(theirs), ours: input.decode(ours), theirs: input.decode(theirs) });
    if (llamaLogitsAvailable()) {
      const runner = new BitnetRunner(weights, 'llama.cpp');
      const mine = [runner.prefill(prompt), ...ours.slice(0, -1).map((t) => runner.forward(t))];
      const cpp = llamaCppLogits(gguf, [...prompt, ...ours.slice(0, -1)], prompt.length, { vocab: weights.config.vocabSize, context: ctxLen });
      const differing = mine.filter((l, k) => l.some((v, j) => !Object.is(v, cpp[k]?.[j]))).length;
      (result.logits ??= []).push({ prompt: text, positions: mine.length, differing });
    }
    const runner = new BitnetRunner(weights, 'llama.cpp');
    const logits = runner.prefill(prompt);
    const max = Math.max(...logits);
    const ex = Array.from(logits, (l) => Math.exp(l - max));
    const sum = ex.reduce((a, b) => a + b, 0);
    const s2 = context.getSequence();
    const p = await probsAfter(s2, prompt);
    await s2.dispose();
    let dot = 0;
    let a2 = 0;
    let b2 = 0;
    ex.forEach((e, i) => {
      const x = e / sum;
      const y = p.get(i) ?? 0;
      dot += x * y;
      a2 += x * x;
      b2 += y * y;
    });
    result.cosine.push(dot / Math.sqrt(a2 * b2));
  }
  // default numerics: top-1 over consecutive validation windows of the context length
  const val = input.validation;
  const positions = input.positions;
  let agree = 0;
  let total = 0;
  for (let start = 0; total < positions && start < val.length - 1; start += ctxLen) {
    const window = val.slice(start, start + Math.min(ctxLen, positions - total + 1));
    const runner = new BitnetRunner(weights, 'bitnet');
    const seq = context.getSequence();
    for (let i = 0; i < window.length - 1 && total < positions; i++) {
      const ours = argmax(runner.forward(window[i] as number));
      const p = await probsAfter(seq, [window[i] as number]);
      let theirs = 0;
      let best = -1;
      for (const [k, v] of p) {
        if (v > best) {
          best = v;
          theirs = k;
        }
      }
      if (ours === theirs) agree++;
      total++;
    }
    await seq.dispose();
  }
  result.agreement = agree / total;
  result.positions = total;
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return result;
}

if (process.argv[1]?.endsWith('lm-parity.js')) {
  const r = await lmParity(process.argv[2] ?? 'runs/shakespeare-lm-bitnet', Number(process.argv[3] ?? 1000));
  console.log(JSON.stringify(r, null, 2));
  process.exit(0);
}
