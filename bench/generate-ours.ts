import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BitnetRunner, type Numerics } from '../src/inference/bitnet-forward.js';
import { loadLmWeights } from '../src/inference/load-lm.js';
import { loadNativeTier } from '../src/kernels/native/tier.js';
import { resolveKernels } from '../src/kernels/registry.js';
import type { Kernels } from '../src/kernels/types.js';
import { configure } from '../src/settings.js';
import { ByteTokenizer } from '../src/tokenizer/byte-tokenizer.js';

// One measurement of this toolkit's decoding in a process of its own (bench/generate.ts runs it),
// so its peak RSS is the decoder's alone: node dist/bench/generate-ours.js <gguf> <numerics> <threads>.

export const PROMPT = 48;
export const GENERATE = 64;
export const PROMPT_TEXT = 'ROMEO:\nWhat light through yonder window breaks? It is the east, ';

/** Prompt and generated lengths that fit the model's context. */
export function lengths(contextLength: number): { prompt: number; generate: number } {
  const prompt = Math.min(PROMPT, Math.floor(contextLength / 4));
  return { prompt, generate: Math.min(GENERATE, contextLength - prompt - 1) };
}

/** Where a generated token's time went, ms per token. */
export interface TokenProfile {
  ternaryMs: number;
  headMs: number;
  attentionMs: number;
  /** Everything else: norms, activation quantization, RoPE, SiLU-GLU, residuals, embedding, the argmax. */
  otherMs: number;
  ternaryCalls: number;
}

export interface OursResult {
  prompt: number;
  gen: number;
  profile: TokenProfile;
  loadSeconds: number;
  peakRssGB: number;
  nativePath: string;
  tokens: number[];
}

/** The process's peak resident memory (VmHWM) in GB, or NaN where /proc is missing. */
function peakRss(): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** The kernels with each call timed into `spent` while `on.value` is set. */
function timedKernels(k: Kernels, spent: Record<'ternary' | 'head' | 'attention' | 'calls', number>, on: { value: boolean }): Kernels {
  const timed =
    <A extends unknown[]>(fn: (...a: A) => void, part: 'ternary' | 'head' | 'attention') =>
    (...a: A): void => {
      if (!on.value) return fn(...a);
      const t = performance.now();
      fn(...a);
      spent[part] += performance.now() - t;
      if (part === 'ternary') spent.calls++;
    };
  return {
    ...k,
    ternary: { ...k.ternary, gemm: timed(k.ternary.gemm.bind(k.ternary), 'ternary') },
    gemvHalf: timed(k.gemvHalf, 'head'),
    ggmlGemvHalf: timed(k.ggmlGemvHalf, 'head'),
    attention: timed(k.attention, 'attention'),
  };
}

async function measure(path: string, numerics: Numerics, threads: number): Promise<OursResult> {
  configure({ threads });
  const t0 = performance.now();
  const weights = await loadLmWeights(path, { packed: true });
  const spent = { ternary: 0, head: 0, attention: 0, calls: 0 };
  const profiling = { value: false };
  const runner = new BitnetRunner(weights, numerics, { kernels: timedKernels(resolveKernels(), spent, profiling) });
  const loadSeconds = (performance.now() - t0) / 1000;
  const { prompt, generate } = lengths(weights.config.contextLength);
  const tokens = new ByteTokenizer().encode(PROMPT_TEXT).slice(0, prompt);
  runner.prefill(tokens.slice(0, 4)); // warms the code paths, as loading warms llama.cpp's
  runner.reset();
  const t1 = performance.now();
  let logits = runner.prefill(tokens);
  const t2 = performance.now();
  profiling.value = true;
  const out: number[] = [];
  for (let i = 0; i < generate; i++) {
    let best = 0;
    for (let k = 1; k < logits.length; k++) if ((logits[k] as number) > (logits[best] as number)) best = k;
    out.push(best);
    logits = runner.forward(best);
  }
  const t3 = performance.now();
  const perToken = (ms: number): number => ms / generate;
  return {
    prompt: (tokens.length * 1000) / (t2 - t1),
    gen: (generate * 1000) / (t3 - t2),
    profile: {
      ternaryMs: perToken(spent.ternary),
      headMs: perToken(spent.head),
      attentionMs: perToken(spent.attention),
      otherMs: perToken(t3 - t2 - spent.ternary - spent.head - spent.attention),
      ternaryCalls: perToken(spent.calls),
    },
    loadSeconds,
    peakRssGB: peakRss(),
    nativePath: loadNativeTier()?.detail ?? 'none',
    tokens: out,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [path, numerics, threads] = process.argv.slice(2);
  console.log(JSON.stringify(await measure(path as string, numerics as Numerics, Number(threads))));
}
