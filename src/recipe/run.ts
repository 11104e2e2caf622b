import { existsSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName, type ConcreteBackend } from '../backend.js';
import { BitNetError } from '../errors.js';
import { serializeSafetensors, type SafetensorsInput } from '../formats/safetensors/writer.js';
import { saveModel } from '../formats/tfjs-fs.js';
import { layerStateDict } from '../adapter/torch-names.js';
import { modelLayers } from '../nn/model-layers.js';
import { BitLinear } from '../nn/bit-linear.js';
import { silentReporter, type Reporter } from '../report/reporter.js';
import { Optimizer } from '../train/optimizer.js';
import { Distiller, type RelationSite } from '../train/distill.js';
import { fromPretrained } from '../formats/hf-pretrained.js';
import { llamaProjectionPath } from '../models/llama/spec.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { buildRecipeModel, pretrainedExists, type BuiltModel } from './build.js';
import { listCheckpoints, optimizerTensors, readCheckpoint, restoreModelWeights, writeCheckpoint } from './checkpoint.js';
import { loadRecipe } from './load.js';
import { MetricsLog, readMetrics, type MetricLine } from './metrics.js';
import { deployedModelBytes } from './model-size.js';
import { runReport } from './report.js';
import { clearRunFolder, isRunFolder, lockRunFolder, markRunFolder, removeStaleTemporaries } from './run-folder.js';
import { loadTask, type TaskEvaluation, type TrainTask } from './tasks.js';
import { checkResumeRecipe } from './resume-check.js';
import { byteLmTokenizer, hfLmTokenizer, type LmTokenizer } from '../data/lm-tokenizer.js';
import { sampleTexts } from '../eval/samples.js';
import { trainableParams, trainStep } from './train-step.js';
import { learningRate, quantLambda, weightDecayAt } from './schedules.js';
import type { DistillConfig, Recipe } from './schema.js';
import { readJsonObject } from '../util/json-file.js';

/** Set `requested` (from a signal handler) to stop after the current step with a checkpoint. */
export interface StopSignal {
  requested: 'SIGINT' | 'SIGTERM' | undefined;
}

export interface RunOptions {
  /** Where progress, notes and warnings go (default: nowhere; the CLI passes progress bars). */
  reporter?: Reporter;
  /** Continue from the newest complete checkpoint in the run folder. */
  resume?: boolean;
  /** Replace an existing run folder. */
  overwrite?: boolean;
  backend?: BackendName;
  stop?: StopSignal;
}

export interface RunSummary {
  name: string;
  dir: string;
  status: 'completed' | 'interrupted';
  signal?: 'SIGINT' | 'SIGTERM';
  backend: ConcreteBackend;
  steps: number;
  totalSteps: number;
  resumedFrom: number | null;
  test_loss: number;
  test_accuracy: number;
  /** exp(test_loss) (language models). */
  test_perplexity?: number;
  /** Held-out nats per UTF-8 byte, in bits (language models). */
  test_bits_per_byte?: number;
  modelBytes: number;
  parameters: number;
  trainSeconds: number;
  /** Training tokens per second of this process's steps (text data). */
  tokensPerSecond?: number;
}

const DEFAULT_EPOCHS = 5;

/**
 * Creates or reopens the run folder and takes its lock. The returned close() releases the lock
 * and removes a folder this call created if the run never wrote its recipe.json into it.
 */
async function openRunDir(dir: string, options: RunOptions): Promise<() => void> {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new BitNetError('INVALID_ARGUMENT', `output.dir ${dir} is a file, not a folder`, { field: 'output.dir', hint: 'set output.dir to a folder' });
  }
  const created = !existsSync(dir);
  await mkdir(dir, { recursive: true });
  const unlock = lockRunFolder(dir);
  const release = (): void => {
    unlock();
    if (created && !existsSync(join(dir, 'recipe.json'))) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const existing = existsSync(join(dir, 'recipe.json'));
    if (existing && options.resume !== true && options.overwrite !== true) {
      throw new BitNetError('INVALID_ARGUMENT', `run folder ${dir} already holds a run`, {
        field: 'output.dir',
        hint: 'pass --resume to continue it, --overwrite to start over, or set output.dir',
      });
    }
    // crash leftovers first (only in a folder a run made): an old final/ put back by the repair is then cleared with the rest
    if (isRunFolder(dir)) removeStaleTemporaries(dir);
    if (existing && options.overwrite === true && options.resume !== true) clearRunFolder(dir);
    markRunFolder(dir);
    return release;
  } catch (error) {
    release();
    throw error;
  }
}

/** Trains a model as a recipe says, with checkpoints, metrics, a report and the final model. */
export async function runRecipe(recipe: Recipe, options: RunOptions): Promise<RunSummary> {
  const reporter = options.reporter ?? silentReporter;
  const warn = (m: string): void => reporter.warn(m);
  const backend = await selectBackend(options.backend ?? recipe.backend);
  if (recipe.model.type === 'tfjs' && !pretrainedExists(recipe.model.path) && recipe.model.fallbackRecipe !== undefined) {
    reporter.info(`no model at ${recipe.model.path}: running ${recipe.model.fallbackRecipe} first`);
    await runRecipe(loadRecipe(recipe.model.fallbackRecipe), { ...options, resume: true, overwrite: false });
  }
  if (options.resume === true) checkResumeRecipe(resolve(recipe.output.dir), recipe);
  const release = await openRunDir(resolve(recipe.output.dir), options);
  try {
    const built = await buildRecipeModel(recipe, warn);
    let teacher: tf.LayersModel | undefined;
    try {
      const distiller = recipe.distill == null ? undefined : await createDistiller(recipe, recipe.distill, built.model);
      teacher = distiller?.teacherModel;
      return await train(recipe, options, backend, built, distiller?.distiller);
    } finally {
      teacher?.dispose();
      disposeBuilt(built.model, built.adapters);
    }
  } finally {
    release();
  }
}

/** The frozen teacher (an HF folder, by default the model's own checkpoint) and the distillation loss around it. */
async function createDistiller(
  recipe: Recipe,
  config: DistillConfig,
  student: tf.LayersModel,
): Promise<{ distiller: Distiller; teacherModel: tf.LayersModel }> {
  const path = config.teacher ?? (recipe.model.type === 'hf' ? recipe.model.path : undefined);
  if (path === undefined) throw new BitNetError('INVALID_CONFIG', 'distillation needs a teacher', { field: 'distill.teacher' });
  const { model: teacherModel, config: shape } = await fromPretrained(path);
  let site: RelationSite | undefined;
  if (config.attentionRelation !== undefined) {
    const layer = config.attentionRelation.layer < 0 ? shape.numLayers + config.attentionRelation.layer : config.attentionRelation.layer;
    if (layer < 0 || layer >= shape.numLayers) {
      teacherModel.dispose();
      throw new BitNetError('INVALID_CONFIG', `attention-relation layer ${config.attentionRelation.layer} is outside the ${shape.numLayers} layers`, {
        field: 'distill.attentionRelation.layer',
      });
    }
    site = {
      layers: [llamaProjectionPath(layer, 'q_proj'), llamaProjectionPath(layer, 'k_proj'), llamaProjectionPath(layer, 'v_proj')],
      heads: [shape.numHeads, shape.numKvHeads, shape.numKvHeads],
    };
  }
  try {
    return { distiller: new Distiller(student, teacherModel, config, site), teacherModel };
  } catch (error) {
    teacherModel.dispose();
    throw error;
  }
}

/** The model and adapters a recipe built: the adapters own their models. */
function disposeBuilt(model: tf.LayersModel, adapters: readonly { dispose(): void }[]): void {
  for (const peft of adapters) peft.dispose();
  if (adapters.length === 0) model.dispose();
}

/** Loads the recipe's data (tokenized with the model's tokenizer), trains on it, releases its files. */
async function train(recipe: Recipe, options: RunOptions, backend: ConcreteBackend, built: BuiltModel, distiller: Distiller | undefined): Promise<RunSummary> {
  const reporter = options.reporter ?? silentReporter;
  const { tokenizer } = built;
  const lmTokenizer = recipe.data.type === 'mnist' ? undefined : tokenizer === undefined ? byteLmTokenizer() : hfLmTokenizer(tokenizer);
  const task = await loadTask(recipe, lmTokenizer, (m) => reporter.info(m));
  try {
    return await trainOnTask(recipe, options, backend, built, distiller, { task, lmTokenizer });
  } finally {
    task.close?.();
  }
}

async function trainOnTask(
  recipe: Recipe,
  options: RunOptions,
  backend: ConcreteBackend,
  built: BuiltModel,
  distiller: Distiller | undefined,
  data: { task: TrainTask; lmTokenizer: LmTokenizer | undefined },
): Promise<RunSummary> {
  const { model, adapters } = built;
  const { task: batches, lmTokenizer } = data;
  const reporter = options.reporter ?? silentReporter;
  const dir = resolve(recipe.output.dir);
  const dataSeed = recipe.data.type === 'mnist' ? recipe.data.seed : 0;
  const t = recipe.train;
  const totalSteps = t.steps ?? (t.epochs ?? DEFAULT_EPOCHS) * batches.stepsPerEpoch;
  const latest = options.resume === true ? (await listCheckpoints(dir)).at(-1) : undefined;
  const ckpt = latest === undefined ? undefined : await readCheckpoint(latest.dir);
  if (ckpt !== undefined && ckpt.state.step > totalSteps) {
    throw new BitNetError('INVALID_CONFIG', `--resume: the run is at step ${ckpt.state.step}, past the recipe's ${totalSteps} steps`, {
      field: t.steps == null ? 'train.epochs' : 'train.steps',
      hint: 'give at least as many steps (or epochs) as the run has done',
    });
  }
  await writeFileAtomic(join(dir, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
  const params = trainableParams(model);
  const optimizer = new Optimizer(t.optimizer);
  const metrics = new MetricsLog(join(dir, 'metrics.jsonl'));
  const bitLayers = modelLayers(model)
    .map((l) => l.layer)
    .filter((l): l is BitLinear => l instanceof BitLinear && !l.merged && !l.fullPrecision);

  let step = 0;
  let resumedFrom: number | null = null;
  if (latest !== undefined && ckpt !== undefined) {
    restoreModelWeights(model, ckpt.weights);
    optimizer.loadState(ckpt.state.optimizerStep, optimizerTensors(ckpt.optimizer));
    step = ckpt.state.step;
    resumedFrom = step;
    metrics.truncateAfter(step);
    reporter.info(`resuming ${recipe.name} from step ${step} (${latest.dir})`);
  } else {
    if (options.resume === true && readMetrics(metrics.path).length > 0) {
      reporter.warn(`no complete checkpoint in ${join(dir, 'checkpoints')}: ${recipe.name} starts again from step 0`);
    }
    metrics.truncateAfter(-1);
  }

  const checkpoint = async (): Promise<void> => {
    await writeCheckpoint(
      dir,
      model,
      optimizer.stateTensors(),
      {
        step,
        epoch: batches.epochOf(step),
        optimizerStep: optimizer.stepCount,
        dataSeed,
        trainSeed: t.seed,
        recipe: recipe.name,
        time: new Date().toISOString(),
      },
      recipe.output.keepLast,
    );
  };
  const evalLine = async (): Promise<MetricLine> => {
    const line = evaluationLine(step, await batches.evaluate(model));
    metrics.append(line);
    if (recipe.samples != null && lmTokenizer !== undefined && recipe.data.type !== 'mnist') {
      const samples = await sampleTexts(model, lmTokenizer, recipe.samples, recipe.data.contextLength);
      samples.forEach((s, i) => metrics.append({ step, sample: i, prompt: s.prompt, text: s.text }));
    }
    return line;
  };

  const progress = reporter.progress(totalSteps, step);
  const started = performance.now();
  let windowStart = performance.now();
  let windowSamples = 0;
  let trainedUnits = 0;
  let status: RunSummary['status'] = 'completed';
  let lastEvalStep = -1;
  while (step < totalSteps) {
    const lambda = quantLambda(recipe.quantWarmup, step);
    for (const layer of bitLayers) layer.quantLambda = lambda;
    const lr = learningRate(t.schedule, t.lr, step, totalSteps);
    const wd = weightDecayAt(t.optimizer.weightDecay, t.optimizer.weightDecayOffAt, step, totalSteps);
    const loss = await trainStep(model, params, optimizer, batches, batches.batch(step), { lr, weightDecay: wd, gradClip: t.gradClip, distiller });
    step++;
    windowSamples += t.batchSize;
    trainedUnits += batches.unitsPerBatch;
    if (!Number.isFinite(loss)) {
      throw new BitNetError('INTERNAL', `the loss became ${loss} at step ${step}`, { hint: 'lower train.lr or set train.gradClip' });
    }
    if (step % t.logInterval === 0 || step === totalSteps) {
      const now = performance.now();
      const samplesPerSec = (windowSamples * 1000) / Math.max(1, now - windowStart);
      metrics.append({ step, epoch: batches.epochOf(step - 1), loss, lr, lambda, samples_per_s: samplesPerSec });
      progress.update(step, { loss, lr, lambda, samplesPerSec });
      windowStart = now;
      windowSamples = 0;
    }
    if (t.evalInterval !== undefined && step % t.evalInterval === 0) {
      const line = await evalLine();
      lastEvalStep = step;
      progress.line(`eval at step ${step}: test loss ${(line.test_loss as number).toFixed(4)}, accuracy ${((line.test_accuracy as number) * 100).toFixed(2)}%`);
    }
    // Let signal handlers run: the loop would otherwise hold the event loop for the whole run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (options.stop?.requested !== undefined) {
      status = 'interrupted';
      break;
    }
    if (step % recipe.output.checkpointInterval === 0 && step < totalSteps) await checkpoint();
  }
  progress.stop();
  await checkpoint();
  const trainSeconds = (performance.now() - started) / 1000;

  const final =
    status === 'completed' && lastEvalStep !== step
      ? await evalLine()
      : readMetrics(metrics.path)
          .filter((l) => 'test_loss' in l)
          .at(-1);
  for (const layer of bitLayers) layer.quantLambda = quantLambda(recipe.quantWarmup, step);
  const summary: RunSummary = {
    name: recipe.name,
    dir,
    status,
    ...(options.stop?.requested === undefined ? {} : { signal: options.stop.requested }),
    backend,
    steps: step,
    totalSteps,
    resumedFrom,
    test_loss: (final?.test_loss as number | undefined) ?? Number.NaN,
    test_accuracy: (final?.test_accuracy as number | undefined) ?? Number.NaN,
    ...(typeof final?.test_bits_per_byte === 'number'
      ? { test_perplexity: final.test_perplexity as number, test_bits_per_byte: final.test_bits_per_byte }
      : {}),
    modelBytes: deployedModelBytes(model),
    parameters: model.countParams(),
    trainSeconds,
    ...(recipe.data.type !== 'mnist' ? { tokensPerSecond: trainedUnits / Math.max(1e-9, trainSeconds) } : {}),
  };
  if (status === 'completed') await saveFinal(dir, recipe, model, adapters);
  await writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'report.html'), runReport(recipe, summary, readMetrics(metrics.path)));
  optimizer.dispose();
  return summary;
}

/** An evaluation as a metrics.jsonl line: test_loss, test_accuracy and, for LMs, perplexity, bits per byte and what they cover. */
function evaluationLine(step: number, r: TaskEvaluation): MetricLine {
  const line: MetricLine = { step, test_loss: r.loss, test_accuracy: r.accuracy };
  if ('bitsPerByte' in r)
    Object.assign(line, { test_perplexity: r.perplexity, test_bits_per_byte: r.bitsPerByte, test_tokens: r.targets, test_bytes: r.bytes });
  return line;
}

async function saveFinal(
  dir: string,
  recipe: Recipe,
  model: tf.LayersModel,
  adapters: { save(dir: string): Promise<void>; peftType: string }[],
): Promise<void> {
  const final = join(dir, 'final');
  await saveModel(model, final);
  for (const [i, peft] of adapters.entries()) await peft.save(join(final, 'adapters', `${i}-${peft.peftType.toLowerCase()}`));
  if (recipe.output.export.includes('safetensors')) {
    const tensors = Object.assign({}, ...modelLayers(model).map(({ path, layer }) => layerStateDict(layer, `${path}.`))) as Record<string, SafetensorsInput>;
    await writeFileAtomic(join(final, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  }
}

/** The summary a finished run wrote, if any. */
export function readRunSummary(dir: string): Promise<RunSummary | undefined> {
  const path = join(dir, 'summary.json');
  return Promise.resolve(existsSync(path) ? (readJsonObject(path) as unknown as RunSummary) : undefined);
}
