import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { formatMarkdownTable } from '../src/report/table.js';
import { BitnetRunner } from '../src/inference/bitnet-forward.js';
import { GpuProjections } from '../src/inference/gpu-projections.js';
import { loadLmWeights } from '../src/inference/load-lm.js';
import { configure } from '../src/settings.js';
import { WebGpuTernary, type GpuDevice, type WgslKernel } from '../src/kernels/webgpu/ternary-wgsl.js';
import type { BitnetLmWeights } from '../src/models/bitnet/weights.js';
import { buildMlp } from '../src/models/mlp.js';
import { BitLinear } from '../src/nn/bit-linear.js';
import { packTernary2 } from '../src/quant/pack.js';
import { SeededRandom } from '../src/util/random.js';
import { BITNET_2B4T_SHAPES, writeRandomBitnetGguf } from './random-gguf.js';

/** BITNET_GPU_BENCH_SMOKE=1: tiny shapes and no 2B model, to check the script on a software adapter. */
const SMOKE = process.env.BITNET_GPU_BENCH_SMOKE === '1';
const SHAPES: [number, number][] = SMOKE
  ? [[256, 512]]
  : [
      [4096, 4096],
      [2560, 6912],
      [6912, 2560],
    ];
const BATCHES = [1, 8, 32];
const REPS = 200;
const BITNET_THREADS = (): string => process.env.BITNET_THREADS ?? 'all';

async function fp32Ms(out: number, inF: number, batch: number): Promise<number> {
  const w = tf.randomNormal([inF, out]);
  const x = tf.randomNormal([batch, inF]);
  await tf.matMul(x, w).data();
  const t0 = performance.now();
  let y: tf.Tensor | undefined;
  for (let i = 0; i < REPS; i++) {
    y?.dispose();
    y = tf.matMul(x, w);
  }
  await (y as tf.Tensor).data();
  const ms = (performance.now() - t0) / REPS;
  tf.dispose([w, x, y]);
  return ms;
}

/** Kernel time per product: REPS dispatches in one submission, one read. */
async function ternaryMs(gpu: WebGpuTernary, out: number, inF: number, batch: number, kernel: WgslKernel): Promise<number> {
  const rng = new SeededRandom(1);
  const codes = packTernary2(
    Int8Array.from({ length: out * inF }, () => rng.int(3) - 1),
    [out, inF],
  );
  const x = Int8Array.from({ length: batch * inF }, () => rng.int(255) - 127);
  const weights = gpu.upload(codes);
  await gpu.gemm(weights, out, inF, x, batch, inF, { kernel });
  const t0 = performance.now();
  await gpu.gemm(weights, out, inF, x, batch, inF, { repeat: REPS, kernel });
  const ms = (performance.now() - t0) / REPS;
  weights.destroy();
  return ms;
}

/** A BitLinear layer call on tfjs-webgpu (input already on the GPU), WGSL route or tfjs's float integer path. */
async function layerMs(out: number, inF: number, batch: number, engine: 'auto' | 'tfjs'): Promise<number> {
  configure({ inference: engine });
  const layer = new BitLinear({ units: out, inference: true, useRmsNorm: false });
  layer.build([null, inF]);
  const x = tf.randomNormal([batch, inF]);
  const warm = layer.apply(x) as tf.Tensor;
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  let y: tf.Tensor | undefined;
  for (let i = 0; i < 20; i++) {
    y?.dispose();
    y = layer.apply(x) as tf.Tensor;
  }
  await (y as tf.Tensor).data();
  const ms = (performance.now() - t0) / 20;
  tf.dispose([x, y]);
  configure({ inference: 'auto' });
  return ms;
}

/** One projection group's round trip as generation does it: upload a row, one small product, read it back. */
async function roundTripMs(gpu: WebGpuTernary): Promise<number> {
  const rng = new SeededRandom(2);
  const layer = gpu.uploadLinear(
    packTernary2(
      Int8Array.from({ length: 256 * 256 }, () => rng.int(3) - 1),
      [256, 256],
    ),
    256,
    256,
    1,
  );
  const x = Float32Array.from({ length: 256 }, () => rng.normal());
  const once = async (): Promise<void> => {
    const input = gpu.uploadFloats(x);
    const out = gpu.linear(layer, input, 1);
    await gpu.readMany([{ buffer: out, bytes: 1024 }]);
    input.destroy();
    out.destroy();
  };
  await once();
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) await once();
  layer.codes.destroy();
  return (performance.now() - t0) / 50;
}

async function trainStepMs(): Promise<number> {
  const model = buildMlp({ inputSize: 784, hidden: [256, 256], outputs: 10, layer: 'bitlinear', seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([128, 784]);
  const y = tf.oneHot(tf.randomUniform([128], 0, 10, 'int32'), 10).toFloat();
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await model.trainOnBatch(x, y);
  return (performance.now() - t0) / 20;
}

/** Generation tokens/s with the projections on the CPU kernels and on the GPU (greedy, BitNet numerics). */
async function generationTokS(weights: BitnetLmWeights, gpu: GpuProjections | undefined, wanted: number): Promise<number> {
  const runner = new BitnetRunner(weights, 'bitnet', gpu === undefined ? {} : { gpu });
  const tokens = Math.min(wanted, weights.config.contextLength - 1);
  let logits = await runner.forwardAsync(1);
  const t0 = performance.now();
  for (let i = 0; i < tokens; i++) {
    let best = 0;
    for (let k = 1; k < logits.length; k++) if ((logits[k] as number) > (logits[best] as number)) best = k;
    logits = await runner.forwardAsync(best);
  }
  return (tokens * 1000) / (performance.now() - t0);
}

export async function benchGpu(outDir: string, runDir?: string): Promise<void> {
  await selectBackend('wasm');
  const wasmStep = await trainStepMs();
  await selectBackend('webgpu');
  const device = (tf.backend() as unknown as { device: GpuDevice }).device;
  const card = (() => {
    try {
      return execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']).toString().trim().split('\n')[0] ?? 'unknown GPU';
    } catch {
      return 'unknown GPU';
    }
  })();
  const gpu = new WebGpuTernary(device);
  const rows: string[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const [out, inF] of SHAPES) {
    for (const batch of BATCHES) {
      const f = await fp32Ms(out, inF, batch);
      const g = await ternaryMs(gpu, out, inF, batch, 'gemv');
      const k = await ternaryMs(gpu, out, inF, batch, 'split-k');
      const t = await ternaryMs(gpu, out, inF, batch, 'tiled');
      const a = await ternaryMs(gpu, out, inF, batch, 'auto');
      results.push({ shape: [out, inF], batch, fp32Ms: f, gemvMs: g, splitKMs: k, tiledMs: t, autoMs: a });
      rows.push([`${out}x${inF}`, String(batch), f.toFixed(4), g.toFixed(4), k.toFixed(4), t.toFixed(4), a.toFixed(4), (f / a).toFixed(2)]);
    }
  }
  const layerRows: string[][] = [];
  for (const batch of [1, 32]) {
    const [out, inF] = SHAPES[0] as [number, number];
    const wgsl = await layerMs(out, inF, batch, 'auto');
    const tfjs = await layerMs(out, inF, batch, 'tfjs');
    results.push({ layer: [out, inF], batch, wgslLayerMs: wgsl, tfjsIntegerLayerMs: tfjs });
    layerRows.push([`${out}x${inF}`, String(batch), tfjs.toFixed(3), wgsl.toFixed(3), (tfjs / wgsl).toFixed(2)]);
  }
  const webgpuStep = await trainStepMs();
  const roundTrip = await roundTripMs(gpu);
  const genRows: string[][] = [];
  const models: { name: string; path: string; tokens: number }[] = [];
  if (runDir !== undefined) models.push({ name: 'shakespeare-lm-bitnet (run)', path: runDir, tokens: 64 });
  if (!SMOKE) {
    const big = join(mkdtempSync(join(tmpdir(), 'gpu-gen-')), 'random-2b4t.gguf');
    await writeRandomBitnetGguf(big, { ...BITNET_2B4T_SHAPES, contextLength: 256 }, 7);
    models.push({ name: 'random BitNet-2B4T shapes (2.41 B)', path: big, tokens: 24 });
  }
  for (const m of models) {
    const weights = await loadLmWeights(m.path, { packed: true });
    const cpu = await generationTokS(weights, undefined, m.tokens);
    const projections = new GpuProjections(gpu, weights, card);
    const onGpu = await generationTokS(weights, projections, m.tokens);
    projections.dispose();
    results.push({ generation: m.name, cpuTokS: cpu, webgpuTokS: onGpu });
    genRows.push([m.name, cpu.toFixed(1), onGpu.toFixed(1), (onGpu / cpu).toFixed(2)]);
  }
  const header = ['out x in', 'batch', 'tfjs-webgpu fp32 matMul ms', 'WGSL gemv ms', 'WGSL split-K ms', 'WGSL tiled ms', 'WGSL auto ms', 'fp32 / auto'];
  const layerHeader = ['BitLinear out x in', 'batch', 'tfjs integer path ms', 'WGSL route ms', 'speed-up'];
  const genHeader = ['model (BitNet numerics, greedy)', `CPU kernels tok/s (${BITNET_THREADS()} threads)`, 'projections on WebGPU tok/s', 'WebGPU / CPU'];
  const text = [
    `# GPU: WGSL ternary kernels vs tfjs-webgpu fp32 (${card}, Dawn Vulkan)`,
    '',
    `Kernel time per product, ${REPS} products per submission (int8 activations uploaded, int32 results read back once). 'auto' is the choice WebGpuTernary makes (gemv below batch 4, then split-K for whole rows; the 32x32 tile for weights with scale groups).`,
    '',
    formatMarkdownTable([header, ...rows]),
    '',
    'BitLinear in inference mode on tfjs-webgpu, per call (20 calls, one read): the WGSL route (activation quantization, ternary product and scaling on the GPU) against tfjs ops computing the same integers in float32.',
    '',
    formatMarkdownTable([layerHeader, ...layerRows]),
    '',
    `Generation: BitnetRunner with the ternary projections on the CPU kernels or on the WGSL kernels (attention, norms and the output head stay on the CPU; per projection group one upload and one read). One such round trip with a 256x256 product takes ${roundTrip.toFixed(3)} ms here, and a token needs 4 per layer.`,
    '',
    formatMarkdownTable([genHeader, ...genRows]),
    '',
    `Training step, MLP 784-256-256-10 BitLinear, batch 128: webgpu ${webgpuStep.toFixed(1)} ms, wasm (this host's CPU) ${wasmStep.toFixed(1)} ms (${(wasmStep / webgpuStep).toFixed(2)}x).`,
  ].join('\n');
  console.log(text);
  writeFileSync(join(outDir, 'gpu.md'), `${text}\n`);
  writeFileSync(join(outDir, 'gpu.json'), `${JSON.stringify({ card, results, webgpuStep, wasmStep, roundTripMs: roundTrip }, null, 2)}\n`);
}

if (process.argv[1]?.endsWith('gpu.js')) {
  await benchGpu(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'gpu-')), process.argv[3]);
  process.exit(0);
}
