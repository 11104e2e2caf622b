// node dist/bench/lora-ternary.js [--base runs/shakespeare-lm-bitnet] [--steps 300] [--rank 16]
// LoRA on a trained ternary LM, the story of issue #17 measured: the same LoRA recipe on two bases,
// the run's latent BitLinear weights and the GGUF exported from them (merged integer layers, what a
// user downloads); per base, the held-out loss of the base, of base + adapter (kept separate, as the
// llama.cpp LoRA file runs it), and of the adapter merged into the ternary weights (re-quantized),
// and the memory a training step holds. Writes bench/results/lora-ternary.{md,json}.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '../adapters/index.js';
import { getPeftModel } from '../src/adapter/peft.js';
import { selectBackend } from '../src/backend.js';
import { loadBitnetGguf } from '../src/formats/gguf/bitnet-read.js';
import { writeBitnetGguf } from '../src/formats/gguf/bitnet-write.js';
import { loadModel } from '../src/formats/tfjs-fs.js';
import { mergeLowRank } from '../src/models/bitnet/merge-low-rank.js';
import { lmModelFromWeights, lmWeightsOf } from '../src/models/bitnet/tfjs.js';
import { BitLinear } from '../src/nn/bit-linear.js';
import { modelLayers } from '../src/nn/model-layers.js';
import { loadRecipe } from '../src/recipe/load.js';
import { createTask, type TrainTask } from '../src/recipe/tasks.js';
import { trainableParams, trainStep } from '../src/recipe/train-step.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { ByteTokenizer } from '../src/tokenizer/byte-tokenizer.js';
import { Optimizer } from '../src/train/optimizer.js';
import { machine, writeResult } from './lib.js';

interface BaseResult {
  base: string;
  baseLoss: number;
  adaptedLoss: number;
  mergedLoss: number;
  changedCodes: number;
  codes: number;
  trainableParams: number;
  /** Bytes of live tensors after a training step (weights, caches, optimizer state). */
  stepTensorBytes: number;
  /** Bytes of the frozen base's weight variables. */
  baseWeightBytes: number;
  msPerStep: number;
}

async function loss(task: TrainTask, model: tf.LayersModel): Promise<number> {
  return (await task.evaluate(model)).loss;
}

function frozenBytes(model: tf.LayersModel): number {
  let bytes = 0;
  for (const { layer } of modelLayers(model)) for (const w of layer.weights) if (!(layer.trainable && w.trainable)) bytes += 4 * w.read().size;
  return bytes;
}

async function loraOn(name: string, base: tf.LayersModel, task: TrainTask, steps: number, rank: number, lr: number): Promise<BaseResult> {
  for (const { layer } of modelLayers(base)) if (layer instanceof BitLinear && !layer.merged) layer.setInference(true);
  const baseLoss = await loss(task, base);
  for (const { layer } of modelLayers(base)) if (layer instanceof BitLinear && !layer.merged) layer.setInference(false);
  const peft = getPeftModel(base, { peftType: 'LORA', targetModules: 'all-linear', r: rank, loraAlpha: 2 * rank });
  const model = peft.model;
  const params = trainableParams(model);
  const optimizer = new Optimizer({ type: 'adamw', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0, weightDecayOffAt: 1 });
  const times: number[] = [];
  let stepTensorBytes = 0;
  for (let step = 0; step < steps; step++) {
    const t0 = performance.now();
    await trainStep(model, params, optimizer, task, task.batch(step), { lr, weightDecay: 0, gradClip: 1 });
    times.push(performance.now() - t0);
    if (step === 2) stepTensorBytes = tf.memory().numBytes;
  }
  for (const { layer } of modelLayers(model)) {
    const inner = (layer as { base?: tf.layers.Layer }).base ?? layer;
    if (inner instanceof BitLinear && !inner.merged) inner.setInference(true);
  }
  const adaptedLoss = await loss(task, model);
  const { weights, report } = mergeLowRank(lmWeightsOf(model));
  const merged = lmModelFromWeights(weights);
  const mergedLoss = await loss(task, merged);
  times.sort((a, b) => a - b);
  const result: BaseResult = {
    base: name,
    baseLoss,
    adaptedLoss,
    mergedLoss,
    changedCodes: report.changedCodes,
    codes: report.codes,
    trainableParams: params.reduce((n, p) => n + p.variable.size, 0),
    stepTensorBytes,
    baseWeightBytes: frozenBytes(model),
    msPerStep: times[Math.floor(times.length / 2)] as number,
  };
  merged.dispose();
  optimizer.dispose();
  peft.dispose();
  return result;
}

export async function benchLoraTernary(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      base: { type: 'string', default: 'runs/shakespeare-lm-bitnet' },
      steps: { type: 'string', default: '300' },
      rank: { type: 'string', default: '16' },
      lr: { type: 'string', default: '0.002' },
    },
  });
  await selectBackend('wasm');
  const recipe = loadRecipe(join(values.base, 'recipe.json'), { set: ['backend=wasm'] });
  const task = createTask(recipe, undefined);
  const steps = Number(values.steps);
  const rank = Number(values.rank);
  const lr = Number(values.lr);
  const latent = await loadModel(join(values.base, 'final'));
  const gguf = join(mkdtempSync(join(tmpdir(), 'bitnet-lora-ternary-')), 'base.gguf');
  await writeBitnetGguf(gguf, lmWeightsOf(latent), new ByteTokenizer().ggufVocabulary(), { type: 'tq2_0' });
  const results = [await loraOn('latent BitLinear (the run)', latent, task, steps, rank, lr)];
  latent.dispose();
  const fromGguf = lmModelFromWeights(await loadBitnetGguf(gguf));
  results.push(await loraOn('GGUF (merged integer layers)', fromGguf, task, steps, rank, lr));
  fromGguf.dispose();

  const mib = (b: number): string => (b / 2 ** 20).toFixed(2);
  const header = [
    'base',
    'base loss',
    'base + LoRA',
    'merged (re-quantized)',
    'codes moved',
    'LoRA params',
    'frozen weights MiB',
    'tensors after a step MiB',
    'ms/step',
  ];
  const rows = results.map((r) => [
    r.base,
    r.baseLoss.toFixed(4),
    r.adaptedLoss.toFixed(4),
    r.mergedLoss.toFixed(4),
    `${((100 * r.changedCodes) / r.codes).toFixed(2)} %`,
    r.trainableParams.toLocaleString('en-US'),
    mib(r.baseWeightBytes),
    mib(r.stepTensorBytes),
    r.msPerStep.toFixed(1),
  ]);
  console.log(formatTable([header, ...rows]));
  const host = machine();
  const json = { bench: 'lora-ternary', machine: host, date: new Date().toISOString(), base: values.base, steps, rank, lr, results };
  const md = [
    '# LoRA on a ternary LM (issue #17)',
    '',
    `${String(host.cpu)}; wasm backend with the native addon. Base: \`${values.base}\` (recipe ${recipe.name}); LoRA r=${rank}, alpha=${2 * rank} on every projection, ${steps} steps of AdamW (lr ${lr}) on the same Shakespeare training split; losses are the recipe's held-out loss (nats per token).`,
    '',
    formatMarkdownTable([header, ...rows]),
    '',
    'base + LoRA: the adapter kept separate (the tfjs model, and llama.cpp with the LoRA GGUF). merged: the update folded into the ternary weights and re-ternarized (`bitnet export --adapter merge`).',
    '',
  ].join('\n');
  await writeResult('lora-ternary.json', `${JSON.stringify(json, null, 2)}\n`);
  await writeResult('lora-ternary.md', md);
}

if (process.argv[1]?.endsWith('lora-ternary.js')) await benchLoraTernary(process.argv.slice(2));
