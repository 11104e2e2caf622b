// npm run bench:train -- [--backend webgpu|wasm|cpu] [--sizes small,90m,1b] [--steps N] [--profile] [--peer off] [--submit-batch N]
// The bitnet-lm training step as recipes run it (trainStep, shakespeare data), its per-kernel
// profile, and the PyTorch twin (bench/peer/lm_train_peer.py) on the same machine when torch is
// there: cuda beside webgpu, cpu (same thread count) beside wasm/cpu.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/backend.js';
import { buildRecipeModel } from '../src/recipe/build.js';
import { loadRecipe } from '../src/recipe/load.js';
import { createTask } from '../src/recipe/tasks.js';
import { trainableParams, trainStep } from '../src/recipe/train-step.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { defaultThreads, settings } from '../src/settings.js';
import { Optimizer } from '../src/train/optimizer.js';
import { machine, writeResult } from './lib.js';
import { nativeAdamWOnWasm } from '../src/kernels/native/wasm-adamw.js';
import { nativeMatMulOnWasm, wasmMatMulPath } from '../src/kernels/native/wasm-matmul.js';
import { nativeTrainingOnWasm, wasmTrainingPath } from '../src/kernels/native/wasm-training.js';

/** The training paths train.c runs natively on tfjs-wasm. */
const WASM_FUSED = ['fake-quant', 'rms-norm', 'swiglu', 'attention'] as const;

interface Size {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  contextLength: number;
  batchSize: number;
}

const SIZES: Record<string, Size> = {
  small: { hiddenSize: 256, intermediateSize: 512, numLayers: 2, numHeads: 4, numKvHeads: 2, contextLength: 64, batchSize: 16 },
  '90m': { hiddenSize: 1024, intermediateSize: 2816, numLayers: 8, numHeads: 16, numKvHeads: 4, contextLength: 256, batchSize: 16 },
  '1b': { hiddenSize: 2048, intermediateSize: 5632, numLayers: 22, numHeads: 32, numKvHeads: 8, contextLength: 512, batchSize: 16 },
};

function recipeFor(s: Size, backend: BackendName): ReturnType<typeof loadRecipe> {
  const { batchSize, contextLength, ...model } = s;
  const set = [
    ...Object.entries(model).map(([k, v]) => `model.${k}=${v}`),
    `data.contextLength=${contextLength}`,
    `train.batchSize=${batchSize}`,
    `backend=${backend}`,
  ];
  return loadRecipe('recipes/shakespeare-lm-bitnet.json', { set });
}

/** PyTorch's CPU threads: the 2 of the project's machines (ours use BITNET_THREADS, default every core). */
const PEER_THREADS = Math.min(cpus().length, 2);

interface KernelRow {
  kernel: string;
  calls: number;
  ms: number;
}

/** Per-kernel time of one step (tf.profile; on the cpu and wasm backends, wall time per kernel). */
async function profileStep(run: () => Promise<number>): Promise<{ rows: KernelRow[]; kernels: number; totalMs: number }> {
  const info = await tf.profile(async () => {
    await run();
    return [];
  });
  const by = new Map<string, KernelRow>();
  for (const k of info.kernels) {
    const row = by.get(k.name) ?? { kernel: k.name, calls: 0, ms: 0 };
    row.calls++;
    row.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    by.set(k.name, row);
  }
  const rows = [...by.values()].sort((a, b) => b.ms - a.ms);
  return { rows, kernels: info.kernels.length, totalMs: rows.reduce((n, r) => n + r.ms, 0) };
}

interface WebGpuTimer {
  runWebGPUProgram(program: { constructor: { name: string }; shaderKey?: string }, ...rest: unknown[]): unknown;
  time(f: () => void): Promise<{ kernelMs: number; getExtraProfileInfo(): string }>;
}

/**
 * GPU time of every program one step dispatches (tfjs's and ours), from WebGPU timestamp queries
 * around each, grouped by program (ours by shader name). The step's GPU time is their sum.
 */
async function profileGpuStep(run: () => Promise<number>): Promise<{ rows: KernelRow[]; kernels: number; totalMs: number }> {
  const backend = tf.backend() as unknown as WebGpuTimer;
  const names: string[] = [];
  const original = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (program, ...rest) => {
    const key = program.shaderKey ?? '';
    names.push(key.startsWith('bitnet_') ? key.replace(/^bitnet_(custom|elementwise)_/, '').replace(/_\d.*$/, '') : program.constructor.name);
    return original(program, ...rest);
  };
  let pending: Promise<number> | undefined;
  const timing = await backend.time(() => {
    pending = run();
  });
  await pending;
  backend.runWebGPUProgram = original;
  const ms = timing
    .getExtraProfileInfo()
    .split(', ')
    .map((entry) => Number(entry.split(': ').at(-1)));
  const by = new Map<string, KernelRow>();
  names.forEach((name, i) => {
    const row = by.get(name) ?? { kernel: name, calls: 0, ms: 0 };
    row.calls++;
    row.ms += ms.length === names.length ? (ms[i] as number) : 0;
    by.set(name, row);
  });
  return { rows: [...by.values()].sort((a, b) => b.ms - a.ms), kernels: names.length, totalMs: timing.kernelMs };
}

/** The PyTorch twin's JSON line, or undefined where python3 has no torch (or no CUDA for a GPU run). */
function peer(s: Size, device: 'cuda' | 'cpu', threads: number): Record<string, unknown> | undefined {
  const args = ['bench/peer/lm_train_peer.py', '--device', device, '--text', 'data/tinyshakespeare.txt'];
  args.push('--hidden', String(s.hiddenSize), '--ffn', String(s.intermediateSize), '--layers', String(s.numLayers));
  args.push('--heads', String(s.numHeads), '--kv', String(s.numKvHeads), '--ctx', String(s.contextLength), '--batch', String(s.batchSize));
  if (device === 'cpu') args.push('--threads', String(threads));
  try {
    const out = execFileSync('python3', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 600_000 });
    return JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface AdapterReport {
  description: string;
  features: string[];
  limits: Record<string, number>;
}

/** What Dawn's adapter offers (the features tfjs could ask for: subgroups, shader-f16, subgroup matrices). */
async function adapterReport(): Promise<AdapterReport | undefined> {
  interface Adapter {
    features: Iterable<string>;
    limits: Record<string, number>;
    info?: { description?: string; vendor?: string; architecture?: string };
  }
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<Adapter | null> } } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter();
  if (adapter === undefined || adapter === null) return undefined;
  const limits: Record<string, number> = {};
  for (const key of [
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'subgroupMinSize',
    'subgroupMaxSize',
  ]) {
    if (typeof adapter.limits[key] === 'number') limits[key] = adapter.limits[key];
  }
  const info = adapter.info ?? {};
  return {
    description: [info.vendor, info.architecture, info.description].filter((x) => x !== undefined && x !== '').join(' '),
    features: [...adapter.features].sort(),
    limits,
  };
}

/** Frees the buffers tfjs-webgpu keeps for reuse, so that the next size's memory is its own. */
function releasePooledBuffers(): void {
  interface Pool {
    bufferManager: { freeBuffers: Map<string, { size: number; destroy(): void }[]>; numFreeBuffers: number; numBytesAllocated: number };
  }
  const pool = (tf.backend() as unknown as Pool).bufferManager;
  for (const list of pool.freeBuffers.values()) {
    for (const buffer of list) {
      pool.numBytesAllocated -= buffer.size;
      buffer.destroy();
    }
    list.length = 0;
  }
  pool.numFreeBuffers = 0;
}

export async function benchTrainLm(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      backend: { type: 'string', default: 'wasm' },
      sizes: { type: 'string', default: 'small' },
      steps: { type: 'string', default: '20' },
      profile: { type: 'boolean', default: false },
      peer: { type: 'string', default: 'auto' },
      'submit-batch': { type: 'string' },
    },
  });
  const backend = await selectBackend(values.backend as BackendName);
  if (values['submit-batch'] !== undefined) tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', Number(values['submit-batch']));
  const results: Record<string, unknown>[] = [];
  const profiles: Record<string, { rows: KernelRow[]; kernels: number; totalMs: number }> = {};
  for (const name of values.sizes.split(',')) {
    const size = SIZES[name];
    if (size === undefined) throw new Error(`no size ${name}: ${Object.keys(SIZES).join(', ')}`);
    const recipe = recipeFor(size, backend);
    const { model } = await buildRecipeModel(recipe, () => {});
    const task = createTask(recipe, undefined);
    const params = trainableParams(model);
    const optimizer = new Optimizer(recipe.train.optimizer);
    let step = 0;
    const one = (): Promise<number> => trainStep(model, params, optimizer, task, task.batch(step++), { lr: 1e-3, weightDecay: 0.1, gradClip: 1 });
    for (let i = 0; i < 3; i++) await one();
    const times: number[] = [];
    let loss = 0;
    for (let i = 0; i < Number(values.steps); i++) {
      const t0 = performance.now();
      loss = await one();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)] as number;
    if (values.profile) profiles[name] = backend === 'webgpu' ? await profileGpuStep(one) : await profileStep(one);
    // tfjs-webgpu pools the buffers it frees: what it holds after the steps is the step's high-water mark
    const memory = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    const params_ = params.reduce((n, p) => n + p.variable.size, 0);
    const tokens = size.batchSize * size.contextLength;
    const device = backend === 'webgpu' ? 'cuda' : 'cpu';
    const twin = values.peer === 'off' ? undefined : peer(size, device, PEER_THREADS);
    const twinMs = typeof twin?.ms_per_step === 'number' ? twin.ms_per_step : undefined;
    results.push({
      size: name,
      params: params_,
      tokensPerStep: tokens,
      msPerStep: ms,
      tokensPerSecond: (tokens * 1000) / ms,
      loss,
      tensorBytes: memory.numBytes,
      ...(memory.numBytesAllocatedInGPU === undefined ? {} : { gpuBytes: memory.numBytesAllocatedInGPU }),
      ...(twin === undefined ? {} : { peer: twin, peerMsPerStep: twinMs, ratio: twinMs === undefined ? undefined : ms / twinMs }),
    });
    optimizer.dispose();
    model.dispose();
    if (backend === 'webgpu') releasePooledBuffers();
  }
  const header = ['size', 'params', 'tokens/step', `ours (${backend}) ms/step`, 'tokens/s', 'GPU memory', 'PyTorch ms/step', 'PyTorch peak', 'ours / PyTorch'];
  const gib = (bytes: unknown): string => (typeof bytes === 'number' ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : 'n/a');
  const rows = results.map((r) => [
    String(r.size),
    `${((r.params as number) / 1e6).toFixed(2)} M`,
    String(r.tokensPerStep),
    (r.msPerStep as number).toFixed(1),
    (r.tokensPerSecond as number).toFixed(0),
    gib(r.gpuBytes),
    r.peerMsPerStep === undefined ? 'n/a' : (r.peerMsPerStep as number).toFixed(1),
    gib((r.peer as Record<string, unknown> | undefined)?.peak_bytes),
    r.ratio === undefined ? 'n/a' : `${(r.ratio as number).toFixed(2)}x`,
  ]);
  console.log(`\nbitnet-lm training step (trainStep: forward, STE backward, clip, AdamW), ${backend}, median of ${values.steps}`);
  console.log(formatTable([header, ...rows]));
  const profileMd: string[] = [];
  for (const [name, { rows: list, kernels, totalMs }] of Object.entries(profiles)) {
    const top = list.slice(0, 20).map((r) => [r.kernel, String(r.calls), r.ms.toFixed(2), `${((100 * r.ms) / Math.max(totalMs, 1e-9)).toFixed(1)}%`]);
    const what = backend === 'webgpu' ? 'dispatches' : 'kernels';
    const title = `One ${name} step: ${kernels} ${what}, ${totalMs.toFixed(1)} ms ${backend === 'webgpu' ? 'GPU time (timestamp queries)' : 'kernel time'}`;
    console.log(`\n${title}`);
    console.log(formatTable([['program', 'calls', 'ms', 'share'], ...top]));
    profileMd.push(`### ${title}\n`, formatMarkdownTable([['program', 'calls', 'ms', 'share'], ...top]), '');
  }
  const adapter = backend === 'webgpu' ? await adapterReport() : undefined;
  const adapterMd =
    adapter === undefined ? [] : [`Adapter: ${adapter.description}; features: ${adapter.features.join(', ')}; limits: ${JSON.stringify(adapter.limits)}`, ''];
  if (adapter !== undefined) console.log(`\n${adapterMd[0]}`);
  const unfused = settings().unfused;
  const host = machine();
  // on wasm: whether BatchMatMul and AdamW ran natively (src/kernels/native/wasm-*.ts), and on which instruction set
  const nativePaths =
    backend === 'wasm'
      ? {
          matmul: nativeMatMulOnWasm() ? wasmMatMulPath() : 'tfjs-wasm',
          adamw: nativeAdamWOnWasm() ? 'native' : 'tfjs-wasm',
          fused: Object.fromEntries(WASM_FUSED.map((p) => [p, nativeTrainingOnWasm(p) ? wasmTrainingPath() : 'tfjs-wasm'])),
        }
      : undefined;
  const json = { bench: 'train', backend, machine: host, date: new Date().toISOString(), unfused, nativePaths, adapter, results, profiles };
  const md = [
    `bitnet-lm training step, ${backend}${unfused.length > 0 ? ` (unfused: ${unfused.join(', ')})` : ''}`,
    '',
    `${String(host.cpu)}, ${String(host.cores)} cores; PyTorch at ${PEER_THREADS} threads${process.env.ATEN_CPU_CAPABILITY === undefined ? '' : ` (ATEN_CPU_CAPABILITY=${process.env.ATEN_CPU_CAPABILITY})`}, ours at ${defaultThreads()}.` +
      (nativePaths === undefined
        ? ''
        : ` BatchMatMul: ${nativePaths.matmul ?? 'n/a'}; AdamW: ${nativePaths.adamw}; ${Object.entries(nativePaths.fused)
            .map(([p, path]) => `${p}: ${path ?? 'n/a'}`)
            .join(', ')}.`),
    '',
    formatMarkdownTable([header, ...rows]),
    '',
    ...adapterMd,
    ...profileMd,
  ].join('\n');
  await writeResult(`train-${backend}.json`, `${JSON.stringify(json, null, 2)}\n`);
  await writeResult(`train-${backend}.md`, `# ${md}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  tf.enableProdMode();
  await benchTrainLm(process.argv.slice(2));
  // Dawn keeps the process alive
  process.exit(0);
}
