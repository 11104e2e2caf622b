import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBitnetGguf } from '../src/formats/gguf/bitnet-write.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import type { Numerics } from '../src/inference/bitnet-forward.js';
import { loadLmWeights } from '../src/inference/load-lm.js';
import { packageRoot } from '../src/kernels/package-root.js';
import { randomBitnetWeights } from '../src/models/bitnet/weights.js';
import { ByteTokenizer } from '../src/tokenizer/byte-tokenizer.js';
import { GENERATE, lengths, PROMPT, PROMPT_TEXT, type OursResult } from './generate-ours.js';
import { machine, writeMachineSection, writeResult } from './lib.js';
import { BITNET_2B4T_SHAPES, parameterCount, writeRandomBitnetGguf } from './random-gguf.js';

interface LlamaApi {
  getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: { modelPath: string }): Promise<LlamaModel>; dispose(): Promise<void> }>;
  LlamaLogLevel: { error: string };
}
interface LlamaModel {
  createContext(
    o: Record<string, unknown>,
  ): Promise<{ getSequence(): { evaluate(t: number[], o: Record<string, unknown>): AsyncGenerator<number>; dispose(): void }; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}

/** This toolkit's run in a child process (bench/generate-ours.ts): its peak RSS is the decoder's own. */
function ours(path: string, numerics: Numerics, threads: number): OursResult {
  const worker = fileURLToPath(new URL('./generate-ours.js', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, [worker, path, numerics, String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 })) as OursResult;
}

async function llamaCpp(api: LlamaApi, path: string, threads: number, contextLength: number): Promise<{ prompt: number; gen: number }> {
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
  seq.dispose();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { prompt: (tokens.length * 1000) / (first - t0), gen: (generate * 1000) / (t2 - first) };
}

export async function benchGenerate(): Promise<void> {
  const root = packageRoot();
  const interop = join(root, 'test', 'interop', 'package.json');
  if (!existsSync(join(root, 'test', 'interop', 'node_modules', 'node-llama-cpp'))) {
    console.log('\ngeneration bench skipped: install llama.cpp first (npm --prefix test/interop ci --omit=optional --ignore-scripts)');
    return;
  }
  const api = (await import(createRequire(interop).resolve('node-llama-cpp'))) as LlamaApi;
  const dir = mkdtempSync(join(tmpdir(), 'bitnet-genbench-'));
  const shipped = join(root, 'runs', 'shakespeare-lm-bitnet');
  const models: { name: string; path: string; context: number; threads: number[] }[] = [];
  const shippedGguf = join(dir, 'shipped.gguf');
  if (existsSync(join(shipped, 'final', 'model.json'))) {
    await writeBitnetGguf(shippedGguf, await loadLmWeights(shipped), new ByteTokenizer().ggufVocabulary(), { type: 'tq2_0' });
    models.push({ name: 'shakespeare-lm-bitnet (run)', path: shippedGguf, context: (await loadLmWeights(shippedGguf)).config.contextLength, threads: [1] });
  }
  const random = join(dir, 'random.gguf');
  const config = {
    vocabSize: 257,
    hiddenSize: 1024,
    intermediateSize: 2816,
    numLayers: 8,
    numHeads: 16,
    numKvHeads: 4,
    contextLength: 256,
    ropeTheta: 500000,
    rmsNormEps: 1e-5,
  };
  await writeBitnetGguf(random, randomBitnetWeights(config, 1, { weightStd: 0.3, embeddingStd: 0.05 }), new ByteTokenizer().ggufVocabulary(), {
    type: 'tq2_0',
  });
  models.push({ name: 'random 8x1024 (~100M)', path: random, context: config.contextLength, threads: [1] });
  if (process.env.BITNET_BENCH_2B !== '0') {
    const big = join(dir, 'random-2b4t.gguf');
    await writeRandomBitnetGguf(big, BITNET_2B4T_SHAPES, 7);
    models.push({ name: `random BitNet-2B4T shapes (${(parameterCount(BITNET_2B4T_SHAPES) / 1e9).toFixed(2)} B)`, path: big, context: 512, threads: [1, 2] });
  }
  // Every run of ours comes before llama.cpp is first loaded: its threads stay in this process
  // after dispose and were seen to slow the next measurements.
  const measured: {
    m: (typeof models)[number];
    threads: number;
    loadSeconds: number;
    peakRssGB: number;
    a: OursResult;
    b: OursResult;
  }[] = [];
  for (const m of models) {
    for (const threads of m.threads) {
      const a = ours(m.path, 'bitnet', threads);
      const b = ours(m.path, 'llama.cpp', threads);
      measured.push({ m, threads, loadSeconds: a.loadSeconds, peakRssGB: a.peakRssGB, a, b });
    }
  }
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const { m, threads, loadSeconds, peakRssGB, a, b } of measured) {
    const c = await llamaCpp(api, m.path, threads, m.context);
    json.push({ model: m.name, threads, loadSeconds, peakRssGB, ours: a, oursLlamaNumerics: b, llamaCpp: c });
    rows.push([
      m.name,
      String(threads),
      a.prompt.toFixed(1),
      a.gen.toFixed(1),
      b.gen.toFixed(1),
      c.prompt.toFixed(1),
      c.gen.toFixed(1),
      (a.gen / c.gen).toFixed(2),
      (a.prompt / c.prompt).toFixed(2),
      peakRssGB.toFixed(2),
    ]);
  }
  for (const m of models) await rm(m.path, { force: true });
  const header = [
    'model (TQ2_0 GGUF)',
    'threads',
    'ours prompt tok/s',
    'ours gen tok/s',
    'ours (llama.cpp numerics) gen tok/s',
    'llama.cpp prompt tok/s',
    'llama.cpp gen tok/s',
    'gen ours / llama.cpp',
    'prompt ours / llama.cpp',
    'peak RSS GB (ours)',
  ];
  console.log('\nGeneration, greedy (this toolkit vs llama.cpp via node-llama-cpp 3.21.1, same GGUF)');
  console.log(formatTable([header, ...rows]));
  const forced = process.env.BITNET_NATIVE_ISA;
  await writeResult(
    forced === undefined || forced === '' ? 'generate.json' : `generate-${forced}.json`,
    `${JSON.stringify({ bench: 'generate', machine: machine(), date: new Date().toISOString(), promptTokens: PROMPT, generatedTokens: GENERATE, results: json }, null, 2)}\n`,
  );
  const paths = [...new Set(measured.map((r) => r.a.nativePath))].join(', ');
  const variant = forced === undefined || forced === '' ? undefined : `native path ${paths} (forced by BITNET_NATIVE_ISA)`;
  const profileHeader = ['model', 'threads', 'numerics', 'ternary GEMVs ms', 'GEMV calls', 'head ms', 'attention ms', 'other ms', 'total ms'];
  const profileRows = measured.flatMap(({ m, threads, a, b }) =>
    [
      ['bitnet', a],
      ['llama.cpp', b],
    ].map(([numerics, r]) => {
      const p = (r as OursResult).profile;
      const total = p.ternaryMs + p.headMs + p.attentionMs + p.otherMs;
      return [
        m.name,
        String(threads),
        numerics as string,
        ...[p.ternaryMs, p.ternaryCalls, p.headMs, p.attentionMs, p.otherMs, total].map((v) => v.toFixed(1)),
      ];
    }),
  );
  console.log('\nWhere a generated token goes (ms per token)');
  console.log(formatTable([profileHeader, ...profileRows]));
  await writeMachineSection(
    'generate.md',
    'Generation: this toolkit vs llama.cpp',
    `Native path: ${paths}; llama.cpp: node-llama-cpp 3.21.1's CPU build; ${PROMPT}-token prompt, ${GENERATE} greedy tokens; each of our runs in a process of its own (its peak RSS), weights loaded packed.\n\n${formatMarkdownTable([header, ...rows])}\n\nWhere a generated token's time goes (ms per token, timed around each kernel call; other = norms, activation quantization, RoPE, SiLU-GLU, residuals, embedding, the argmax):\n\n${formatMarkdownTable([profileHeader, ...profileRows])}`,
    variant,
  );
}
