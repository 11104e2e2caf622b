// node dist/bench/webgpu-matmul.js: the training products of BitLinear on tfjs-webgpu, tfjs's
// tf.matMul (with transposes as flags, and as explicit transposes as linearMatMul did) against the
// tiled WGSL product (src/kernels/webgpu/tiled-matmul.ts), at the 90m and 1b models' shapes.
// Each timing queues `reps` products and reads one value back: GPU throughput, not latency.
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { tiledMatMul } from '../src/kernels/webgpu/tiled-matmul.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { machine, writeResult } from './lib.js';

type Product = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

async function timeProduct(f: Product, a: tf.Tensor2D, b: tf.Tensor2D, reps: number): Promise<number> {
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    let last: tf.Tensor | undefined;
    for (let i = 0; i < reps; i++) {
      last?.dispose();
      last = tf.tidy(() => f(a, b));
    }
    await (last as tf.Tensor).data();
    last?.dispose();
    return (performance.now() - t0) / reps;
  };
  await run();
  const times = [await run(), await run(), await run()].sort((x, y) => x - y);
  return times[1] as number;
}

const CASES: [string, number, number, number][] = [
  ['90m k/v forward', 4096, 1024, 256],
  ['90m q/o forward', 4096, 1024, 1024],
  ['90m up forward', 4096, 1024, 2816],
  ['90m down forward', 4096, 2816, 1024],
  ['1b up forward', 8192, 2048, 5632],
];

export async function benchWebGpuMatMul(): Promise<void> {
  await selectBackend('webgpu');
  const rows: string[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const [name, m, k, n] of CASES) {
    const flops = 2 * m * k * n;
    // forward x·W, dX = dY·Wᵀ, dW = Xᵀ·dY, each: tfjs flags, tfjs explicit transpose, tiled
    const variants: [string, tf.Tensor2D, tf.Tensor2D, Product, Product, Product][] = [];
    const x = tf.randomNormal<tf.Rank.R2>([m, k]);
    const w = tf.randomNormal<tf.Rank.R2>([k, n]);
    const dy = tf.randomNormal<tf.Rank.R2>([m, n]);
    // the random fills are queued on the GPU: finish them before any timing
    await Promise.all([x.data(), w.data(), dy.data()]);
    variants.push(['x·W', x, w, (a, b) => tf.matMul(a, b), (a, b) => tf.matMul(a, b), (a, b) => tiledMatMul(a, b, false, false)]);
    variants.push(['dY·Wᵀ', dy, w, (a, b) => tf.matMul(a, b, false, true), (a, b) => tf.matMul(a, tf.transpose(b)), (a, b) => tiledMatMul(a, b, false, true)]);
    variants.push(['Xᵀ·dY', x, dy, (a, b) => tf.matMul(a, b, true, false), (a, b) => tf.matMul(tf.transpose(a), b), (a, b) => tiledMatMul(a, b, true, false)]);
    for (const [what, a, b, flags, explicit, tiled] of variants) {
      const reps = 20;
      const [tFlags, tExplicit, tTiled] = [await timeProduct(flags, a, b, reps), await timeProduct(explicit, a, b, reps), await timeProduct(tiled, a, b, reps)];
      const tflops = (ms: number): string => ((flops / ms) * 1e-9).toFixed(1);
      const outRows = what === 'Xᵀ·dY' ? k : m;
      const outCols = what === 'Xᵀ·dY' ? n : what === 'dY·Wᵀ' ? k : n;
      const route = Math.ceil(outRows / 128) * Math.ceil(outCols / 128) >= 128 ? 'tiled' : 'tfjs';
      rows.push([
        `${name}: ${what}`,
        `${m}x${k}x${n}`,
        tFlags.toFixed(3),
        tExplicit.toFixed(3),
        tTiled.toFixed(3),
        tflops(tTiled),
        `${(Math.min(tFlags, tExplicit) / tTiled).toFixed(2)}x`,
        route,
      ]);
      results.push({ name, what, m, k, n, tfjsFlagsMs: tFlags, tfjsTransposeMs: tExplicit, tiledMs: tTiled });
    }
    tf.dispose([x, w, dy]);
  }
  const header = [
    'product',
    'M x K x N',
    'tf.matMul flags ms',
    'transpose + tf.matMul ms',
    'tiled WGSL ms',
    'tiled TFLOP/s',
    'tiled speed-up over the better tfjs',
    'route taken (matMulOnWebGpu)',
  ];
  console.log(formatTable([header, ...rows]));
  await writeResult(
    'webgpu-matmul.json',
    `${JSON.stringify({ bench: 'webgpu-matmul', machine: machine(), date: new Date().toISOString(), results }, null, 2)}\n`,
  );
  await writeResult('webgpu-matmul.md', `# BitLinear's training products on tfjs-webgpu\n\n${formatMarkdownTable([header, ...rows])}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchWebGpuMatMul();
  process.exit(0);
}
