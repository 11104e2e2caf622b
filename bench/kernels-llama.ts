import { readFileSync } from 'node:fs';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { loadNativeTier, nativeGemvPath } from '../src/kernels/native/tier.js';
import { packTernary2 } from '../src/quant/pack.js';
import { SeededRandom } from '../src/util/random.js';
import { ggmlLibrary, runGgml, tierMs } from './kernels.js';
import { machine, writeResult } from './lib.js';

// The native kernel against llama.cpp's TQ2_0 kernel only, 1 thread, on the 2B4T shapes: rounds
// alternate ours and theirs so both see the same machine load, and each side keeps its median
// round. Writes bench/results/kernels-llama-<path>.{md,json}, one file per native path (force one
// with BITNET_NATIVE_ISA) and the CPU model inside.

const SHAPES: [number, number][] = [
  [4096, 4096],
  [2560, 6912],
  [6912, 2560],
];
/**
 * Batch 1 with each of the VNNI path's GEMVs (the tile it runs while the uploaded weights fit in
 * cache, the stream a decoder reading its matrices from DRAM runs; other paths have one), batch 8.
 */
const RUNS: { batch: number; gemv?: 'tile' | 'stream' }[] = [{ batch: 1, gemv: 'tile' }, { batch: 1, gemv: 'stream' }, { batch: 8 }];
const ROUNDS = 7;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function cpuFlags(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').match(/^(flags|Features)\s*:(.*)$/m)?.[2] ?? '';
    const wanted = ['avx2', 'avx_vnni', 'avx512_vnni', 'asimddp', 'i8mm'];
    return line
      .split(' ')
      .filter((f) => wanted.includes(f))
      .join(', ');
  } catch {
    return 'unknown';
  }
}

export async function benchKernelsVsLlama(): Promise<void> {
  const native = loadNativeTier();
  const lib = ggmlLibrary();
  if (native === null || lib === undefined) {
    console.log(
      `kernels-llama: not run (${native === null ? 'the native addon is not built' : "llama.cpp's CPU library is not installed: npm run bench:setup"})`,
    );
    return;
  }
  const rng = new SeededRandom(3);
  const rows: { shape: string; batch: number; gemv: string; oursMs: number; llamaMs: number; ratio: number; roundRatios: number[] }[] = [];
  for (const [out, inF] of SHAPES) {
    const q = Int8Array.from({ length: out * inF }, () => rng.int(3) - 1);
    const codes = packTernary2(q, [out, inF]);
    for (const { batch, gemv } of RUNS) {
      const vnni = native.detail === 'avx512-vnni';
      if (gemv === 'stream' && !vnni) continue;
      nativeGemvPath(gemv === 'stream' ? 1 : gemv === 'tile' ? 2 : 0);
      const x = Int8Array.from({ length: batch * inF }, () => rng.int(255) - 127);
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        ours.push(tierMs(native, codes, out, inF, x, batch, 1));
        theirs.push(runGgml(lib, out, inF, batch));
      }
      const oursMs = median(ours);
      const llamaMs = median(theirs);
      nativeGemvPath(0);
      rows.push({
        shape: `${out}x${inF}`,
        batch,
        gemv: vnni ? (gemv ?? 'tiles') : '',
        oursMs,
        llamaMs,
        ratio: llamaMs / oursMs,
        roundRatios: ours.map((o, i) => (theirs[i] as number) / o),
      });
    }
  }
  const m = machine();
  const header = ['out x in', 'batch', 'our kernel', `ours (${native.detail}) ms`, 'llama.cpp TQ2_0 ms', 'llama.cpp / ours', 'per round (min..max)'];
  const table = rows.map((r) => [
    r.shape,
    String(r.batch),
    r.gemv,
    r.oursMs.toFixed(3),
    r.llamaMs.toFixed(3),
    r.ratio.toFixed(2),
    `${Math.min(...r.roundRatios).toFixed(2)}..${Math.max(...r.roundRatios).toFixed(2)}`,
  ]);
  const note = `CPU: ${String(m.cpu)} (${String(m.cores)} cores; flags: ${cpuFlags()}); native path: ${native.detail}${process.env.BITNET_NATIVE_ISA ? ' (forced by BITNET_NATIVE_ISA)' : ''}; llama.cpp: ${lib.split('/').pop() ?? lib}; 1 thread, ${ROUNDS} alternating rounds, medians; each matrix is looped, so it stays in cache (a decoder's matrices come from DRAM: there the VNNI path runs the stream, slower than the tile in cache and faster from DRAM)`;
  console.log('\nTernary kernels against llama.cpp (ratios > 1: ours faster)');
  console.log(formatTable([header, ...table]));
  console.log(note);
  const name = `kernels-llama-${native.detail}`;
  await writeResult(
    `${name}.json`,
    `${JSON.stringify({ bench: 'kernels-llama', machine: m, date: new Date().toISOString(), nativeIsa: native.detail, llamaCppLibrary: lib, rows }, null, 2)}\n`,
  );
  await writeResult(`${name}.md`, `# Ternary kernels against llama.cpp: ${native.detail}\n\n${note}\n\n${formatMarkdownTable([header, ...table])}\n`);
}
