import { BitNetError } from '../errors.js';
import { SeededRandom } from '../util/random.js';
/** What generate() drives: a model fed token by token (BitnetRunner, TfjsLmRunner). */
export interface TokenRunner {
  readonly contextLength: number;
  readonly position: number;
  reset(): void;
  prefillAsync(tokens: readonly number[]): Promise<Float32Array>;
  forwardAsync(token: number): Promise<Float32Array>;
}

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  /** Sample among the k most likely tokens (0 = all). */
  topK?: number;
  seed?: number;
  /** Called with each new token as it is chosen. */
  onToken?: (token: number) => void;
}

export interface GenerateResult {
  tokens: number[];
  promptTokensPerSecond: number;
  tokensPerSecond: number;
}

/** Picks the next token from logits with temperature and top-k (greedy at temperature 0). */
export function sampleToken(logits: Float32Array, temperature: number, topK: number, rng: SeededRandom): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  if (temperature <= 0) return best;
  const order = Array.from(logits.keys()).sort((a, b) => (logits[b] as number) - (logits[a] as number));
  const pool = topK > 0 ? order.slice(0, topK) : order;
  const max = logits[best] as number;
  const weights = pool.map((i) => Math.exp(((logits[i] as number) - max) / temperature));
  let r = rng.next() * weights.reduce((a, b) => a + b, 0);
  for (let j = 0; j < pool.length; j++) {
    r -= weights[j] as number;
    if (r <= 0) return pool[j] as number;
  }
  return pool[pool.length - 1] as number;
}

/**
 * Feeds the prompt through the KV cache, then samples up to maxTokens. When the context is full the
 * cache restarts from the last half of the text so far (a context shift, as llama.cpp does). Runs
 * the projections on the runner's GPU when it has one.
 */
export async function generate(runner: TokenRunner, prompt: readonly number[], options: GenerateOptions): Promise<GenerateResult> {
  if (prompt.length === 0) throw new BitNetError('INVALID_ARGUMENT', 'the prompt is empty', { field: 'prompt' });
  const limit = runner.contextLength;
  if (prompt.length >= limit)
    throw new BitNetError('INVALID_ARGUMENT', `the prompt has ${prompt.length} tokens; the context holds ${limit}`, { field: 'prompt' });
  const rng = new SeededRandom(options.seed ?? 0);
  const t0 = performance.now();
  let logits = await runner.prefillAsync(prompt);
  const t1 = performance.now();
  const tokens: number[] = [];
  while (tokens.length < options.maxTokens) {
    const next = sampleToken(logits, options.temperature ?? 0, options.topK ?? 0, rng);
    tokens.push(next);
    options.onToken?.(next);
    if (tokens.length === options.maxTokens) break;
    if (runner.position >= limit) {
      const keep = [...prompt, ...tokens].slice(-Math.floor(limit / 2));
      runner.reset();
      if (keep.length > 1) await runner.prefillAsync(keep.slice(0, -1));
    }
    logits = await runner.forwardAsync(next);
  }
  const t2 = performance.now();
  return { tokens, promptTokensPerSecond: (prompt.length * 1000) / Math.max(1e-3, t1 - t0), tokensPerSecond: (tokens.length * 1000) / Math.max(1e-3, t2 - t1) };
}
