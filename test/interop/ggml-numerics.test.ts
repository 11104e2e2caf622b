// The runner's llama.cpp numerics against llama.cpp's own ggml CPU library, operation by operation
// and bit for bit: ggml-ops.c loads node-llama-cpp's libggml and computes one layer's operations
// (RMSNorm and gain, TQ2_0/TQ1_0 x Q8_K products, SwiGLU, the F16 head for one and two columns,
// soft_max_ext, RoPE) on the inputs given here; src/inference/ggml-*.ts must give the same bits.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { byteVocabulary, writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { ggmlRopeRow, ggmlSoftmax } from '../../src/inference/ggml-attention.js';
import { dotF16 } from '../../src/kernels/ggml-f16-dot.js';
import { siluf, type GgmlIsa } from '../../src/kernels/ggml-float.js';
import { Projector } from '../../src/inference/projector.js';
import { rmsNormRow } from '../../src/inference/bitnet-forward.js';
import { resolveKernels } from '../../src/kernels/registry.js';
import type { Kernels } from '../../src/kernels/types.js';
import { headDim, PROJECTIONS, type BitnetLmConfig } from '../../src/models/bitnet/config.js';
import { randomBitnetWeights, type BitnetLmWeights } from '../../src/models/bitnet/weights.js';
import { ropeAngles } from '../../src/nn/rope.js';
import { halfToFloat, roundToHalf } from '../../src/util/half.js';
import { SeededRandom } from '../../src/util/random.js';

const BINS = fileURLToPath(new URL('./node_modules/@node-llama-cpp/linux-x64/bins/linux-x64', import.meta.url));
const installed = existsSync(join(BINS, 'libggml-base.so'));
if (!installed && process.env.BITNET_REQUIRE_INTEROP === '1')
  throw new Error(`llama.cpp's ggml libraries are not in ${BINS} (npm --prefix test/interop ci --omit=optional)`);
if (!installed) console.warn("SKIPPED: ggml numerics — node-llama-cpp's linux-x64 binaries are not installed in test/interop");

const flags = existsSync('/proc/cpuinfo') ? (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '') : '';
const has = (f: string): boolean => flags.split(/\s+/).includes(f);
/** ggml's CPU variants for each vector path this CPU runs: Skylake-X (AVX-512) and Haswell (AVX2). */
const VARIANTS: { isa: GgmlIsa; lib: string }[] = [
  ...(['avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'fma', 'f16c'].every(has) ? [{ isa: 'avx512' as const, lib: 'skylakex' }] : []),
  ...(['avx2', 'fma', 'f16c'].every(has) ? [{ isa: 'avx2' as const, lib: 'haswell' }] : []),
];

const CONFIG: BitnetLmConfig = {
  vocabSize: 300,
  hiddenSize: 512,
  intermediateSize: 768,
  numLayers: 1,
  numHeads: 8,
  numKvHeads: 2,
  contextLength: 1024,
  ropeTheta: 10000,
  rmsNormEps: 1e-6,
};
const PIECES = Array.from({ length: CONFIG.vocabSize }, (_, i) => `<t${i}>`);

/** Activations with a trained model's spread: mostly small, a few large (so Q8_K blocks are uneven). */
function activations(n: number, rng: SeededRandom, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => Math.fround(scale * rng.normal() * (rng.next() < 0.02 ? 20 : 1)));
}

function countDifferent(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe.runIf(installed && VARIANTS.length > 0)("llama.cpp numerics are ggml's, bit for bit", () => {
  const work = mkdtempSync(join(tmpdir(), 'bitnet-ggml-ops-'));
  const program = join(work, 'ggml-ops');
  const models: Record<'tq2_0' | 'tq1_0', { path: string; weights: BitnetLmWeights }> = {} as never;

  beforeAll(async () => {
    execFileSync(process.env.CC ?? 'cc', ['-O1', '-o', program, fileURLToPath(new URL('./ggml-ops.c', import.meta.url)), '-ldl', '-lm']);
    const weights = randomBitnetWeights(CONFIG, 11, { weightStd: 0.05, embeddingStd: 1 });
    for (const type of ['tq2_0', 'tq1_0'] as const) {
      const path = join(work, `${type}.gguf`);
      await writeBitnetGguf(path, weights, byteVocabulary(PIECES), { type });
      models[type] = { path, weights: await loadBitnetGguf(path) };
    }
  });

  for (const { isa, lib } of VARIANTS) {
    it.each(['tq2_0', 'tq1_0'] as const)(`${isa} (libggml-cpu-${lib}), %s: every operation gives ggml's bits`, (type) => {
      const { path, weights } = models[type];
      const c = weights.config;
      const H = c.hiddenSize;
      const F = c.intermediateSize;
      const hd = headDim(c);
      const Q = hd * c.numHeads;
      const KV = hd * c.numKvHeads;
      const V = c.vocabSize;
      const layer = weights.layers[0] as NonNullable<BitnetLmWeights['layers'][number]>;
      const kernels = resolveKernels();
      const proj = Object.fromEntries(PROJECTIONS.map((p) => [p, new Projector(layer.proj[p], 'llama.cpp', false, kernels)])) as Record<
        (typeof PROJECTIONS)[number],
        Projector
      >;
      const headHalf = weights.tokenEmbeddingHalf as Uint16Array;
      const head = Float32Array.from(headHalf, halfToFloat);
      const gemv = (k: Kernels, path: GgmlIsa, x: Float32Array): Float32Array => {
        const out = new Float32Array(V);
        k.ggmlGemvHalf(headHalf, V, H, x, out, path, 2);
        return out;
      };
      for (const seed of [1, 2, 3]) {
        const rng = new SeededRandom(seed);
        const kvCells = [1, 37, 300, 700][seed] as number;
        const padded = Math.ceil(kvCells / 256) * 256;
        const pos = [0, 7, 255, 900][seed] as number;
        const inputs = {
          attnIn: activations(H, rng),
          attnOut: activations(Q, rng, 0.3),
          ffnIn: activations(H, rng, 3),
          gate: activations(F, rng, 4),
          up: activations(F, rng),
          act: activations(F, rng, 0.5),
          outIn: activations(H, rng, 10),
          head2: activations(2 * H, rng),
          scores: activations(padded, rng, 8),
          mask: Float32Array.from({ length: padded }, (_, i) => (i < kvCells ? 0 : -Infinity)),
          rope: activations(Q, rng, 2),
        };
        writeFileSync(join(work, 'in.bin'), Buffer.concat(Object.values(inputs).map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
        const args = [path, join(work, 'in.bin'), join(work, 'out.bin'), 0, c.rmsNormEps, H, F, Q, KV, V, padded, hd, pos, c.ropeTheta];
        execFileSync(program, [join(BINS, 'libggml-base.so'), join(BINS, `libggml-cpu-${lib}.so`), ...args.map(String)]);
        const raw = readFileSync(join(work, 'out.bin'));
        const theirs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));

        const attnNormed = rmsNormRow(inputs.attnIn, layer.attnNorm, c.rmsNormEps);
        const ffnNormed = rmsNormRow(inputs.ffnIn, layer.ffnNorm, c.rmsNormEps);
        const outIn = inputs.outIn.map(roundToHalf);
        const head2 = inputs.head2.map(roundToHalf);
        const roped = inputs.rope.slice();
        ggmlRopeRow(roped, c.numHeads, hd, ropeAngles(pos, 1, hd, c.ropeTheta));
        const ours: [string, Float32Array][] = [
          ['attn_norm', attnNormed],
          ['q', proj.q.apply(attnNormed)],
          ['k', proj.k.apply(attnNormed)],
          ['v', proj.v.apply(attnNormed)],
          ['attn_sub_norm', rmsNormRow(inputs.attnOut, layer.attnSubNorm as Float32Array, c.rmsNormEps)],
          ['o', proj.o.apply(inputs.attnOut)],
          ['ffn_norm', ffnNormed],
          ['gate', proj.gate.apply(ffnNormed)],
          ['up', proj.up.apply(ffnNormed)],
          ['swiglu', inputs.gate.map((g, i) => Math.fround(siluf(g, isa) * (inputs.up[i] as number)))],
          ['ffn_sub_norm', rmsNormRow(inputs.act, layer.ffnSubNorm as Float32Array, c.rmsNormEps)],
          ['down', proj.down.apply(inputs.act)],
          ['output_norm', rmsNormRow(inputs.outIn, weights.outputNorm, c.rmsNormEps)],
          ['head (one column)', Float32Array.from({ length: V }, (_, t) => dotF16('vec', isa, head, t * H, outIn, 0, H))],
          ['head (one column, kernels)', gemv(kernels, isa, outIn)],
          ['head (one column, reference kernels)', gemv(resolveKernels('reference'), isa, outIn)],
          ['head (two columns)', Float32Array.from({ length: 2 * V }, (_, i) => dotF16('tiny', isa, head, (i % V) * H, head2, Math.floor(i / V) * H, H))],
          ['soft_max_ext', ggmlSoftmax(inputs.scores, kvCells, Math.fround(1 / Math.sqrt(hd)), isa, padded)],
          ['rope', roped],
        ];
        let offset = 0;
        const duplicated = new Set(['head (one column, kernels)', 'head (one column, reference kernels)']);
        const report: Record<string, number> = {};
        let oneColumn = 0;
        for (const [name, values] of ours) {
          if (name === 'head (one column)') oneColumn = offset;
          const at = duplicated.has(name) ? oneColumn : offset;
          report[name] = countDifferent(values, theirs.subarray(at, at + values.length));
          if (!duplicated.has(name)) offset += values.length;
        }
        expect(offset).toBe(theirs.length);
        expect(report).toEqual(Object.fromEntries(ours.map(([name]) => [name, 0])));
      }
    });
  }
});
