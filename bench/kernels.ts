import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { loadNativeTier } from '../src/kernels/native/tier.js';
import { referenceTier } from '../src/kernels/reference.js';
import type { KernelTier } from '../src/kernels/types.js';
import { loadWasmTier } from '../src/kernels/wasm/tier.js';
import { packageRoot } from '../src/kernels/package-root.js';
import { packTernary2 } from '../src/quant/pack.js';
import { SeededRandom } from '../src/util/random.js';
import { machine, time, writeResult } from './lib.js';

const SHAPES: [number, number][] = [
  [4096, 4096],
  [2560, 6912],
  [6912, 2560],
];
const BATCHES = [1, 8, 32];
const THREADS = [1, 2];
const GGML_VARIANTS = ['zen4', 'sapphirerapids', 'icelake', 'cascadelake', 'skylakex', 'alderlake', 'haswell', 'sandybridge', 'x64'];

export function ggmlLibrary(): string | undefined {
  if (process.env.BITNET_GGML_CPU_LIB !== undefined) return process.env.BITNET_GGML_CPU_LIB;
  const dir = join(packageRoot(), 'bench', 'llama', 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
  const helper = ggmlHelper();
  if (helper === undefined) return undefined;
  for (const v of GGML_VARIANTS) {
    const lib = join(dir, `libggml-cpu-${v}.so`);
    if (!existsSync(lib)) continue;
    try {
      execFileSync(helper, [lib, '1', '256', '1', '1'], { stdio: 'pipe' });
      return lib;
    } catch {
      // built for instructions this CPU lacks
    }
  }
  return undefined;
}

let helperPath: string | undefined | null = null;
function ggmlHelper(): string | undefined {
  if (helperPath !== null) return helperPath;
  const out = join(packageRoot(), 'build', 'ggml-bench');
  try {
    mkdirSync(join(packageRoot(), 'build'), { recursive: true });
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', out, join(packageRoot(), 'bench', 'native', 'ggml-bench.c'), '-ldl'], { stdio: 'pipe' });
    helperPath = out;
  } catch {
    helperPath = undefined;
  }
  return helperPath;
}

/** One core's 512-bit vpdpbusd rate (bench/native/vnni-peak.c), the ceiling of the VNNI kernel; null without a compiler. */
function vnniPeakGmacs(): number | null {
  const out = join(packageRoot(), 'build', 'vnni-peak');
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', out, join(packageRoot(), 'bench', 'native', 'vnni-peak.c')], { stdio: 'pipe' });
    return Number(execFileSync(out).toString());
  } catch {
    return null;
  }
}

export function runGgml(lib: string, rows: number, cols: number, batch: number): number {
  const reps = batch * rows * cols > 1e8 ? 7 : 21;
  return Number(
    execFileSync(ggmlHelper() as string, [lib, String(rows), String(cols), String(batch), String(reps)])
      .toString()
      .split(' ')[0],
  );
}

export function tierMs(tier: KernelTier, codes: Uint8Array, rows: number, cols: number, x: Int8Array, batch: number, threads: number): number {
  const gemm = tier.ternary as NonNullable<KernelTier['ternary']>;
  const up = gemm.upload(codes, rows, cols);
  const out = new Int32Array(batch * rows);
  const ms = time(() => gemm.gemm(up, { rows, paddedCols: cols, x, batch, groupCols: cols, out, threads }), {
    minRuns: tier.name === 'reference' ? 2 : 9,
    minMs: tier.name === 'reference' ? 0 : 300,
  }).medianMs;
  gemm.release(up);
  return ms;
}

async function tfjsMs(backend: 'wasm' | 'cpu', rows: number, cols: number, batch: number): Promise<number> {
  await selectBackend(backend);
  const w = tf.randomNormal([cols, rows]);
  const x = tf.randomNormal([batch, cols]);
  const ms = time(() => tf.tidy(() => tf.matMul(x, w).dataSync()), { minRuns: backend === 'cpu' ? 2 : 5, minMs: backend === 'cpu' ? 0 : 300 }).medianMs;
  tf.dispose([w, x]);
  return ms;
}

interface Row {
  shape: string;
  batch: number;
  threads: number;
  ms: Record<string, number | null>;
}

export async function benchKernels(): Promise<void> {
  const native = loadNativeTier();
  const wasm = loadWasmTier();
  const lib = ggmlLibrary();
  const bandwidthGBs = ggmlHelper() === undefined ? null : Number(execFileSync(ggmlHelper() as string, ['--bandwidth']).toString());
  const vnniPeak = vnniPeakGmacs();
  const rng = new SeededRandom(3);
  const rows: Row[] = [];
  for (const [out, inF] of SHAPES) {
    const q = Int8Array.from({ length: out * inF }, () => rng.int(3) - 1);
    const codes = packTernary2(q, [out, inF]);
    for (const batch of BATCHES) {
      const x = Int8Array.from({ length: batch * inF }, () => rng.int(255) - 127);
      const wasmTf = await tfjsMs('wasm', out, inF, batch);
      const cpuTf = batch <= 8 ? await tfjsMs('cpu', out, inF, batch) : null;
      for (const threads of THREADS) {
        const single = threads === 1;
        rows.push({
          shape: `${out}x${inF}`,
          batch,
          threads,
          ms: {
            native: native === null ? null : tierMs(native, codes, out, inF, x, batch, threads),
            wasm: single && wasm !== null ? tierMs(wasm, codes, out, inF, x, batch, 1) : null,
            reference: single && batch === 1 ? tierMs(referenceTier, codes, out, inF, x, batch, 1) : null,
            'tfjs-wasm-fp32': single ? wasmTf : null,
            'tfjs-cpu-fp32': single ? cpuTf : null,
            'llama.cpp-tq2_0': single && lib !== undefined ? runGgml(lib, out, inF, batch) : null,
          },
        });
      }
    }
  }
  const cols = ['native', 'wasm', 'reference', 'tfjs-wasm-fp32', 'tfjs-cpu-fp32', 'llama.cpp-tq2_0'];
  const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v < 1 ? v.toFixed(3) : v.toFixed(1));
  const header = [
    'out x in',
    'batch',
    'thr',
    ...cols.map((c) => `${c} ms`),
    'native GMAC/s',
    'native GB/s',
    'tfjs-wasm / native',
    'llama.cpp / native',
    'tfjs-wasm / wasm',
  ];
  const table = rows.map((r) => {
    const [o, i] = r.shape.split('x').map(Number) as [number, number];
    const n = r.ms.native;
    const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a == null || b == null ? '-' : (a / b).toFixed(2));
    const wasmTf = rows.find((x) => x.shape === r.shape && x.batch === r.batch && x.threads === 1)?.ms['tfjs-wasm-fp32'];
    return [
      r.shape,
      String(r.batch),
      String(r.threads),
      ...cols.map((c) => fmt(r.ms[c])),
      n == null ? '-' : ((o * i * r.batch) / (n * 1e6)).toFixed(0),
      n == null ? '-' : ((o * i) / 4 / (n * 1e6)).toFixed(1),
      ratio(wasmTf, n),
      ratio(r.ms['llama.cpp-tq2_0'] ?? rows.find((x) => x.shape === r.shape && x.batch === r.batch && x.threads === 1)?.ms['llama.cpp-tq2_0'], n),
      ratio(r.ms['tfjs-wasm-fp32'], r.ms.wasm),
    ];
  });
  const note = `native tier: ${native?.detail ?? 'not built'}; llama.cpp: ${lib ?? 'not installed (npm run bench:setup)'}; measured read bandwidth: ${bandwidthGBs ?? '?'} GB/s; one core's 512-bit vpdpbusd peak: ${vnniPeak === null || vnniPeak === 0 ? 'n/a' : `${vnniPeak} GMAC/s`}`;
  console.log('\nTernary GEMV/GEMM kernels (median ms; ratios > 1 mean the native/wasm kernel is faster)');
  console.log(formatTable([header, ...table]));
  console.log(note);
  const json = {
    bench: 'kernels',
    machine: machine(),
    date: new Date().toISOString(),
    nativeIsa: native?.detail ?? null,
    llamaCppLibrary: lib ?? null,
    bandwidthGBs,
    vnniPeakGmacs: vnniPeak,
    rows,
  };
  await writeResult('kernels.json', `${JSON.stringify(json, null, 2)}\n`);
  await writeResult(
    'kernels.md',
    `# Ternary kernels\n\n${note}\n\nGB/s: packed 2-bit weight bytes read per second.\n\n${formatMarkdownTable([header, ...table])}\n`,
  );
}
