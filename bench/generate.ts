import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
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
import { GENERATE, PROMPT, type OursResult } from './generate-ours.js';
import type { LlamaResult } from './generate-llama.js';
import { machine, writeMachineSection, writeResult } from './lib.js';
import { BITNET_2B4T_SHAPES, parameterCount, writeRandomBitnetGguf } from './random-gguf.js';

/** This toolkit's run in a child process (bench/generate-ours.ts): its peak RSS is the decoder's own. */
function ours(path: string, numerics: Numerics, threads: number): OursResult {
  const worker = fileURLToPath(new URL('./generate-ours.js', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, [worker, path, numerics, String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 })) as OursResult;
}

/** llama.cpp's run in a child process (bench/generate-llama.ts). */
function llamaCpp(path: string, threads: number, contextLength: number): LlamaResult {
  const worker = fileURLToPath(new URL('./generate-llama.js', import.meta.url));
  const out = execFileSync(process.execPath, [worker, path, String(threads), String(contextLength)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop() as string) as LlamaResult;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export async function benchGenerate(): Promise<void> {
  const root = packageRoot();
  if (!existsSync(join(root, 'test', 'interop', 'node_modules', 'node-llama-cpp'))) {
    console.log('\ngeneration bench skipped: install llama.cpp first (npm --prefix test/interop ci --omit=optional --ignore-scripts)');
    return;
  }
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
  // Ours and llama.cpp alternate, each run in a process of its own: this shared machine's speed
  // drifts by tens of percent between minutes, so each ratio compares runs next to each other.
  const rounds = Math.max(1, Number(process.env.BITNET_BENCH_ROUNDS ?? 3));
  const measured: { m: (typeof models)[number]; threads: number; runs: OursResult[]; llama: LlamaResult[]; a: OursResult; b: OursResult }[] = [];
  for (const m of models) {
    for (const threads of m.threads) {
      const runs: OursResult[] = [];
      const llama: LlamaResult[] = [];
      for (let r = 0; r < rounds; r++) {
        runs.push(ours(m.path, 'bitnet', threads));
        llama.push(llamaCpp(m.path, threads, m.context));
      }
      const first = JSON.stringify(runs[0]?.tokens);
      if (runs.some((r) => JSON.stringify(r.tokens) !== first)) throw new Error(`${m.name}, ${threads} threads: greedy tokens differ between runs`);
      const byGen = [...runs].sort((x, y) => x.gen - y.gen);
      const b = ours(m.path, 'llama.cpp', threads);
      measured.push({ m, threads, runs, llama, a: byGen[byGen.length >> 1] as OursResult, b });
    }
  }
  const span = (values: number[]): string => `${Math.min(...values).toFixed(2)}..${Math.max(...values).toFixed(2)}`;
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const { m, threads, runs, llama, b } of measured) {
    const genRatios = runs.map((r, i) => r.gen / (llama[i] as LlamaResult).gen);
    const promptRatios = runs.map((r, i) => r.prompt / (llama[i] as LlamaResult).prompt);
    const peakRssGB = Math.max(...runs.map((r) => r.peakRssGB));
    json.push({ model: m.name, threads, rounds, peakRssGB, ours: runs, oursLlamaNumerics: b, llamaCpp: llama, genRatios, promptRatios });
    rows.push([
      m.name,
      String(threads),
      median(runs.map((r) => r.prompt)).toFixed(1),
      median(runs.map((r) => r.gen)).toFixed(1),
      b.gen.toFixed(1),
      median(llama.map((r) => r.prompt)).toFixed(1),
      median(llama.map((r) => r.gen)).toFixed(1),
      median(genRatios).toFixed(2),
      span(genRatios),
      median(promptRatios).toFixed(2),
      span(promptRatios),
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
    'gen ratio per round',
    'prompt ours / llama.cpp',
    'prompt ratio per round',
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
    `Native path: ${paths}; llama.cpp: node-llama-cpp 3.21.1's CPU build; ${PROMPT}-token prompt, ${GENERATE} greedy tokens; ${rounds} alternating rounds of ours and llama.cpp, each run in a process of its own (ours: its peak RSS), weights loaded packed; tok/s are medians, ratios the median of the rounds' ratios; the profile is from our median-speed run.\n\n${formatMarkdownTable([header, ...rows])}\n\nWhere a generated token's time goes (ms per token, timed around each kernel call; other = norms, activation quantization, RoPE, SiLU-GLU, residuals, embedding, the argmax):\n\n${formatMarkdownTable([profileHeader, ...profileRows])}`,
    variant,
  );
}
