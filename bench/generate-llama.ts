import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/kernels/package-root.js';
import { ByteTokenizer } from '../src/tokenizer/byte-tokenizer.js';
import { lengths, PROMPT_TEXT } from './generate-ours.js';

// One measurement of llama.cpp's decoding (node-llama-cpp) in a process of its own, so that its
// threads, which outlive dispose(), cannot slow the next run of either side:
// node dist/bench/generate-llama.js <gguf> <threads> <contextLength>.

interface LlamaApi {
  getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: { modelPath: string }): Promise<LlamaModel>; dispose(): Promise<void> }>;
  LlamaLogLevel: { error: string };
}
interface LlamaModel {
  createContext(o: Record<string, unknown>): Promise<{
    getSequence(): { evaluate(t: number[], o: Record<string, unknown>): AsyncGenerator<number>; dispose(): Promise<void> };
    dispose(): Promise<void>;
  }>;
  dispose(): Promise<void>;
}

export interface LlamaResult {
  prompt: number;
  gen: number;
}

/** Where bench/generate.ts looks for node-llama-cpp (installed by `npm --prefix test/interop ci`). */
export const LLAMA_PACKAGE_JSON = join(packageRoot(), 'test', 'interop', 'package.json');

async function measure(path: string, threads: number, contextLength: number): Promise<LlamaResult> {
  const api = (await import(createRequire(LLAMA_PACKAGE_JSON).resolve('node-llama-cpp'))) as LlamaApi;
  const { prompt, generate } = lengths(contextLength);
  const llama = await api.getLlama({ gpu: false, build: 'never', logLevel: api.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: contextLength, threads, flashAttention: false });
  const tokens = new ByteTokenizer().encode(PROMPT_TEXT).slice(0, prompt);
  const seq = context.getSequence();
  const t0 = performance.now();
  let first = 0;
  let n = 0;
  for await (const _ of seq.evaluate(tokens, { temperature: 0, yieldEogToken: true })) {
    if (n === 0) first = performance.now();
    if (++n > generate) break;
  }
  const t2 = performance.now();
  await seq.dispose();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { prompt: (tokens.length * 1000) / (first - t0), gen: (generate * 1000) / (t2 - first) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [path, threads, contextLength] = process.argv.slice(2);
  console.log(JSON.stringify(await measure(path as string, Number(threads), Number(contextLength))));
  process.exit(0);
}
