import * as tf from '@tensorflow/tfjs';
import { IGNORE_INDEX, type Windows } from '../data/example-batches.js';

/** Token ids [B, T] in, logits [B, T, vocab] out (the caller disposes them). */
export type LogitsFn = (x: Int32Array, batch: number, length: number) => Promise<tf.Tensor>;

/** A tfjs language model as a LogitsFn. */
export function modelLogits(model: tf.LayersModel): LogitsFn {
  return (x, batch, length) => Promise.resolve(tf.tidy(() => model.apply(tf.tensor2d(x, [batch, length], 'int32')) as tf.Tensor));
}

/** Per position: the logits [N, vocab], the labels [N], cross-entropy (nats) and 1 where the label is a target (not IGNORE_INDEX). Call inside tf.tidy. */
function tokenLosses(logits: tf.Tensor, labels: tf.Tensor): { flat: tf.Tensor2D; y: tf.Tensor1D; perToken: tf.Tensor; valid: tf.Tensor } {
  const classes = logits.shape[logits.rank - 1] as number;
  const flat = tf.reshape<tf.Rank.R2>(logits, [-1, classes]);
  const y = tf.reshape<tf.Rank.R1>(labels, [-1]);
  const valid = tf.cast(tf.greaterEqual(y, 0), 'float32');
  const perToken = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.maximum(y, tf.scalar(0, 'int32')), classes), flat, undefined, undefined, tf.Reduction.NONE);
  return { flat, y, perToken, valid };
}

/** Mean cross-entropy (nats) over the labels that are not IGNORE_INDEX (0 when there are none). */
export function maskedCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const { perToken, valid } = tokenLosses(logits, labels);
    return tf.div(tf.sum(tf.mul(perToken, valid)), tf.maximum(tf.sum(valid), 1));
  });
}

/** What a language model scored: nats summed over targets, next-token hits, and the UTF-8 bytes the targets spell. */
export interface LmTotals {
  nats: number;
  targets: number;
  hits: number;
  bytes: number;
}

export interface LmMetrics {
  /** Mean nats per target token. */
  loss: number;
  perplexity: number;
  /** Nats over the targets' bytes, in bits (lm-evaluation-harness's bits_per_byte). */
  bitsPerByte: number;
  /** Share of targets that are the model's most likely next token. */
  accuracy: number;
  targets: number;
  bytes: number;
}

export function lmMetrics(t: LmTotals): LmMetrics {
  const loss = t.nats / Math.max(1, t.targets);
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerByte: t.bytes > 0 ? t.nats / Math.LN2 / t.bytes : Number.NaN,
    accuracy: t.hits / Math.max(1, t.targets),
    targets: t.targets,
    bytes: t.bytes,
  };
}

/** UTF-8 bytes of the runs of consecutive targets in labels (special tokens count none). */
function targetBytes(y: Int32Array, bytesOf: (ids: readonly number[]) => number): number {
  let bytes = 0;
  let run: number[] = [];
  for (const id of [...y, IGNORE_INDEX]) {
    if (id >= 0) run.push(id);
    else if (run.length > 0) {
      bytes += bytesOf(run);
      run = [];
    }
  }
  return bytes;
}

/**
 * Scores windows with a language model, `batch` windows per forward pass; reads each pass back
 * asynchronously (webgpu has no fast synchronous read).
 */
export async function scoreWindows(
  logitsOf: LogitsFn,
  windows: Windows,
  options: { batch: number; limit?: number | undefined; bytesOf: (ids: readonly number[]) => number },
): Promise<LmTotals> {
  const totals: LmTotals = { nats: 0, targets: 0, hits: 0, bytes: 0 };
  const count = Math.min(windows.count, options.limit ?? windows.count);
  for (let start = 0; start < count; start += options.batch) {
    const n = Math.min(options.batch, count - start);
    const parts = Array.from({ length: n }, (_, i) => windows.window(start + i));
    const t = parts[0]?.x.length ?? 0;
    const x = new Int32Array(n * t);
    const y = new Int32Array(n * t);
    parts.forEach((p, i) => {
      x.set(p.x, i * t);
      y.set(p.y, i * t);
      totals.bytes += targetBytes(p.y, options.bytesOf);
    });
    const logits = await logitsOf(x, n, t);
    const sums = tf.tidy(() => {
      const { flat, y: labels, perToken, valid } = tokenLosses(logits, tf.tensor1d(y, 'int32'));
      const hit = tf.mul(tf.cast(tf.equal(tf.argMax(flat, -1), labels), 'float32'), valid);
      return tf.stack([tf.sum(tf.mul(perToken, valid)), tf.sum(hit), tf.sum(valid)]);
    });
    logits.dispose();
    const [nats, hits, targets] = await sums.data();
    sums.dispose();
    totals.nats += nats as number;
    totals.hits += hits as number;
    totals.targets += targets as number;
  }
  return totals;
}

/**
 * Non-overlapping windows of `contextLength` ids from the start, each scoring its contextLength − 1
 * next-token predictions (transformers' labels = input_ids, stride = window), while
 * start < length − (contextLength + 1): the procedure of the HF perplexity guide at stride = length.
 */
export function strideWindows(ids: Int32Array, contextLength: number): Windows {
  const t = contextLength;
  let count = 0;
  while (count * t < ids.length - (t + 1)) count++;
  return {
    count,
    window: (w) => {
      const x = ids.slice(w * t, w * t + t);
      const y = new Int32Array(t).fill(IGNORE_INDEX);
      for (let i = 0; i < t - 1; i++) y[i] = x[i + 1] as number;
      return { x, y };
    },
  };
}
