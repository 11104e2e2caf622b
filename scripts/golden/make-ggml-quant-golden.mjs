// Golden bytes from llama.cpp's own quantizers (quantize_row_{tq2_0,tq1_0,q8_0}_ref in the
// libggml-base.so that node-llama-cpp 3.21.1 ships), for test/formats/gguf.test.ts.
// Needs `npm run bench:setup` (installs @node-llama-cpp/linux-x64 into bench/llama) and a C compiler.
// Run: node scripts/golden/make-ggml-quant-golden.mjs  -> test/golden/ggml-quant.json
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lib = join(root, 'bench/llama/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so');
mkdirSync(join(root, 'build'), { recursive: true });
const exe = join(root, 'build', 'ggml-quant');
execFileSync('cc', ['-O1', '-o', exe, join(root, 'scripts/golden/ggml-quant.c'), '-ldl']);

let seed = 7;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
const f32 = Math.fround;
const cases = [];
// Ternary values times a per-block scale (what an exporter writes), a block of zeros, and
// arbitrary floats (llama.cpp rounds x / max|x| half away from zero).
const ternary = (n, scale) => Array.from({ length: n }, () => f32((Math.floor(rand() * 3) - 1) * scale));
for (const type of ['tq2_0', 'tq1_0']) {
  cases.push({ type, name: 'ternary beta 0.0173', input: ternary(512, 0.0173) });
  cases.push({ type, name: 'ternary d 1 with zeros', input: [...ternary(256, 1), ...new Array(256).fill(0)] });
  cases.push({ type, name: 'arbitrary floats', input: Array.from({ length: 256 }, () => f32((rand() - 0.5) * 3)) });
}
cases.push({ type: 'q8_0', name: 'random floats', input: Array.from({ length: 128 }, () => f32((rand() - 0.5) * 7)) });
cases.push({ type: 'q8_0', name: 'a zero block', input: new Array(32).fill(0) });
for (const c of cases) {
  c.hex = execFileSync(exe, [lib, c.type, String(c.input.length)], { input: c.input.map((v) => v.toPrecision(9)).join(' ') })
    .toString()
    .trim();
}
writeFileSync(
  join(root, 'test/golden/ggml-quant.json'),
  `${JSON.stringify({ source: 'node-llama-cpp 3.21.1 libggml-base.so, quantize_row_*_ref', cases }, null, 1)}\n`,
);
console.log(`wrote test/golden/ggml-quant.json (${cases.length} cases)`);
