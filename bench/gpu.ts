import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { formatMarkdownTable, formatTable } from '../src/cli/table.js';
import { WebGpuTernary } from '../src/kernels/webgpu/ternary-wgsl.js';
import { buildMlp } from '../src/models/mlp.js';
import { packTernary2 } from '../src/quant/pack.js';
import { SeededRandom } from '../src/util/random.js';

const SHAPES: [number, number][] = [[4096, 4096], [2560, 6912], [6912, 2560]];
const REPS = 50;

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
  tf.dispose([w, x, y as tf.Tensor]);
  return ms;
}

async function ternaryMs(gpu: WebGpuTernary, out: number, inF: number, batch: number): Promise<number> {
  const rng = new SeededRandom(1);
  const codes = packTernary2(Int8Array.from({ length: out * inF }, () => rng.int(3) - 1), [out, inF]);
  const x = Int8Array.from({ length: batch * inF }, () => rng.int(255) - 127);
  const weights = gpu.upload(codes);
  await gpu.gemm(weights, out, inF, x, batch, inF);
  const t0 = performance.now();
  await gpu.gemm(weights, out, inF, x, batch, inF, { repeat: REPS });
  return (performance.now() - t0) / REPS;
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

export async function benchGpu(outDir: string): Promise<void> {
  await selectBackend('wasm');
  const wasmStep = await trainStepMs();
  await selectBackend('webgpu');
  const device = (tf.backend() as unknown as { device: ConstructorParameters<typeof WebGpuTernary>[0]; adapterInfo?: { description?: string; vendor?: string; architecture?: string } }).device;
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
    for (const batch of [1, 32]) {
      const f = await fp32Ms(out, inF, batch);
      const t = await ternaryMs(gpu, out, inF, batch);
      results.push({ shape: [out, inF], batch, fp32Ms: f, ternaryMs: t });
      rows.push([`${out}x${inF}`, String(batch), f.toFixed(4), t.toFixed(4), (f / t).toFixed(2)]);
    }
  }
  const webgpuStep = await trainStepMs();
  const header = ['out x in', 'batch', 'tfjs-webgpu fp32 matMul ms', 'WGSL ternary ms', 'fp32 / ternary'];
  const text = [
    `# GPU: WGSL ternary kernel vs tfjs-webgpu fp32 (${card}, Dawn Vulkan)`,
    '',
    `Kernel time per product, ${REPS} products per submission.`,
    '',
    formatMarkdownTable([header, ...rows]),
    '',
    `Training step, MLP 784-256-256-10 BitLinear, batch 128: webgpu ${webgpuStep.toFixed(1)} ms, wasm (this host's CPU) ${wasmStep.toFixed(1)} ms (${(wasmStep / webgpuStep).toFixed(2)}x).`,
  ].join('\n');
  console.log(formatTable([header, ...rows]));
  console.log(text.split('\n').at(-1));
  writeFileSync(join(outDir, 'gpu.md'), `${text}\n`);
  writeFileSync(join(outDir, 'gpu.json'), `${JSON.stringify({ card, results, webgpuStep, wasmStep }, null, 2)}\n`);
}

if (process.argv[1]?.endsWith('gpu.js')) {
  await benchGpu(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'gpu-')));
  process.exit(0);
}
