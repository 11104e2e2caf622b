import * as tf from '@tensorflow/tfjs';
import { ImageBatches } from '../data/batches.js';
import { mnistSplit } from '../data/mnist.js';
import { loadTextSplit, TextBatches, validationWindows, type TextEncoder } from '../data/text.js';
import { byteLmTokenizer, type LmTokenizer } from '../data/lm-tokenizer.js';
import { BitNetError } from '../errors.js';
import { lmMetrics, modelLogits, scoreWindows, type LmMetrics } from '../eval/lm-score.js';
import { recordsTask } from './records-task.js';
import type { Recipe } from './schema.js';

/** A held-out evaluation: loss (nats per example or token) and accuracy (class, or next token); LMs add perplexity and bits per byte. */
export type TaskEvaluation = { loss: number; accuracy: number } | LmMetrics;

/** What the training loop needs from a data set: batches by step, a loss, and an evaluation. */
export interface TrainTask {
  readonly stepsPerEpoch: number;
  /** Tokens (text) or examples (images) in one training batch. */
  readonly unitsPerBatch: number;
  epochOf(step: number): number;
  batch(step: number): { x: tf.Tensor; labels: tf.Tensor };
  /** Mean cross-entropy (nats) of model outputs against labels. */
  loss(outputs: tf.Tensor, labels: tf.Tensor): tf.Scalar;
  /** Held-out loss (nats per example or per token) and accuracy (class, or next token). */
  evaluate(model: tf.LayersModel): Promise<TaskEvaluation>;
  /** Releases open data files. */
  close?(): void;
}

function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const classes = logits.shape[logits.rank - 1] as number;
  const flat = tf.reshape(logits, [-1, classes]);
  return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(tf.oneHot(tf.reshape<tf.Rank.R1>(labels, [-1]), classes), flat);
}

/** Sums loss and hits over chunks of examples (read back asynchronously: webgpu has no fast sync read). */
async function evaluateChunks(
  model: tf.LayersModel,
  chunks: number,
  input: (i: number) => { x: tf.Tensor; labels: tf.Tensor; n: number },
): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let hits = 0;
  let total = 0;
  for (let i = 0; i < chunks; i++) {
    let n = 0;
    const sums = tf.tidy(() => {
      const batch = input(i);
      n = batch.n;
      const logits = model.apply(batch.x) as tf.Tensor;
      const classes = logits.shape[logits.rank - 1] as number;
      const flat = tf.reshape(logits, [-1, classes]);
      const loss = tf.mul(crossEntropy(logits, batch.labels), n);
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(flat, -1), tf.reshape(batch.labels, [-1])), 'float32'));
      return tf.stack([loss, hit]);
    });
    const [l, h] = await sums.data();
    sums.dispose();
    lossSum += l as number;
    hits += h as number;
    total += n;
  }
  return { loss: lossSum / total, accuracy: hits / total };
}

/** The recipe's data as batches, loss and evaluation; `encode` tokenizes text data (default: bytes). */
export function createTask(recipe: Recipe, encode?: TextEncoder, lmBytes?: (ids: readonly number[]) => number): TrainTask {
  const t = recipe.train;

  if (recipe.data.type === 'mnist') {
    const d = recipe.data;
    const { train, test } = mnistSplit({ trainSize: d.trainSize, testSize: d.testSize, seed: d.seed, padding: d.padding });
    const batches = new ImageBatches(train, t.batchSize, t.seed);
    const f = test.features;
    return {
      stepsPerEpoch: batches.stepsPerEpoch,
      unitsPerBatch: t.batchSize,
      epochOf: (s) => batches.epochOf(s),
      batch: (s) => batches.batch(s),
      loss: crossEntropy,
      evaluate: (model) =>
        evaluateChunks(model, Math.ceil(test.count / 500), (i) => {
          const n = Math.min(500, test.count - i * 500);
          return {
            x: tf.tensor2d(test.images.subarray(i * 500 * f, (i * 500 + n) * f), [n, f]),
            labels: tf.tensor1d(test.labels.subarray(i * 500, i * 500 + n), 'int32'),
            n,
          };
        }),
    };
  }
  const d = recipe.data;
  if (d.type !== 'text') throw new BitNetError('INTERNAL', 'jsonl and parquet data are tokenized asynchronously: use loadTask', { field: 'data.type' });
  const split = loadTextSplit(d.path, d.trainFraction, encode);
  const batches = new TextBatches(split.train, d.contextLength, t.batchSize, t.seed);
  const windows = validationWindows(split.validation, d.contextLength, d.evalTokens);
  const per = Math.max(1, Math.floor(8192 / d.contextLength));
  const span = d.contextLength;
  const bytesOf = lmBytes ?? ((ids: readonly number[]) => byteLmTokenizer().bytesOf(ids));
  return {
    stepsPerEpoch: batches.stepsPerEpoch,
    unitsPerBatch: t.batchSize * d.contextLength,
    epochOf: (s) => batches.epochOf(s),
    batch: (s) => batches.batch(s),
    loss: crossEntropy,
    evaluate: async (model) =>
      lmMetrics(
        await scoreWindows(
          modelLogits(model),
          { count: windows.count, window: (w) => ({ x: windows.x.slice(w * span, (w + 1) * span), y: windows.y.slice(w * span, (w + 1) * span) }) },
          { batch: per, bytesOf },
        ),
      ),
  };
}

/** The recipe's data as a task, tokenized with the model's tokenizer (bytes for this toolkit's LMs). */
export async function loadTask(recipe: Recipe, tokenizer: LmTokenizer | undefined, info: (message: string) => void): Promise<TrainTask> {
  if (recipe.data.type === 'jsonl' || recipe.data.type === 'parquet') return recordsTask(recipe.data, recipe.train, tokenizer ?? byteLmTokenizer(), info);
  return createTask(
    recipe,
    tokenizer === undefined ? undefined : (text) => tokenizer.encode(text),
    tokenizer === undefined ? undefined : (ids) => tokenizer.bytesOf(ids),
  );
}
