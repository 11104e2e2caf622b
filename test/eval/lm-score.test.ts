// Issue #18: masked targets get no loss; bitnet eval's windows, loss, bits per byte and accuracy
// equal transformers' on a tiny checkpoint (test/golden/eval-tiny, scripts/golden/make_eval_golden.py).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { openEvalSource } from '../../src/eval/eval-source.js';
import { evaluateData } from '../../src/eval/evaluate-data.js';
import { maskedCrossEntropy } from '../../src/eval/lm-score.js';
import { IGNORE_INDEX } from '../../src/data/example-batches.js';

function logSoftmaxRow(row: readonly number[]): number[] {
  const max = Math.max(...row);
  const z = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return row.map((v) => v - z);
}

describe('masked cross-entropy', () => {
  const vocab = 7;
  const labels = [3, IGNORE_INDEX, 0, 6, IGNORE_INDEX, IGNORE_INDEX, 2, 5];
  const logitsData = Array.from({ length: labels.length * vocab }, (_, i) => Math.sin(i * 1.7) * 3);

  it('is the mean over the targets that are not -100, by hand', () => {
    const before = tf.memory().numTensors;
    const loss = tf.tidy(() => maskedCrossEntropy(tf.tensor3d(logitsData, [2, 4, vocab]), tf.tensor2d(labels, [2, 4], 'int32')).dataSync()[0] as number);
    let sum = 0;
    let n = 0;
    labels.forEach((y, i) => {
      if (y < 0) return;
      sum -= logSoftmaxRow(logitsData.slice(i * vocab, (i + 1) * vocab))[y] as number;
      n++;
    });
    expect(loss).toBeCloseTo(sum / n, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives masked positions no loss and no gradient', () => {
    const y = tf.tensor2d(labels, [2, 4], 'int32');
    const x = tf.tensor3d(logitsData, [2, 4, vocab]);
    const changed = tf.tensor3d(
      logitsData.map((v, i) => (labels[Math.floor(i / vocab)] === IGNORE_INDEX ? v * 10 + 5 : v)),
      [2, 4, vocab],
    );
    const a = tf.tidy(() => maskedCrossEntropy(x, y).dataSync()[0] as number);
    const b = tf.tidy(() => maskedCrossEntropy(changed, y).dataSync()[0] as number);
    expect(b).toBeCloseTo(a, 6);
    const grad = tf.tidy(
      () =>
        tf
          .grad((l: tf.Tensor) => maskedCrossEntropy(l, y))(x)
          .arraySync() as number[][][],
    );
    grad.flat().forEach((row, i) => {
      const masked = labels[i] === IGNORE_INDEX;
      expect(row.some((g) => g !== 0)).toBe(!masked);
    });
    tf.dispose([x, y, changed]);
  });
});

describe('bitnet eval on a text file, against transformers', () => {
  it('windows, targets, bytes, loss, bits per byte and accuracy', async () => {
    const expected = JSON.parse(readFileSync('test/golden/eval-tiny/expected.json', 'utf8')) as Record<string, number>;
    const source = await openEvalSource('test/golden/hf-llama-chat-tiny');
    const before = tf.memory().numTensors;
    const r = await evaluateData(source, 'test/golden/eval-tiny/text.txt', { contextLength: expected.context, from: expected.from as number, trainOn: 'all' });
    expect(tf.memory().numTensors).toBe(before);
    source.dispose();
    if (r.task !== 'language-model') throw new Error('expected language-model metrics');
    expect(r.windows).toBe(expected.windows);
    expect(r.targets).toBe(expected.targets);
    expect(r.bytes).toBe(expected.bytes);
    expect(r.loss).toBeCloseTo(expected.loss as number, 4);
    expect(r.bitsPerByte).toBeCloseTo(expected.bitsPerByte as number, 4);
    expect(r.perplexity).toBeCloseTo(Math.exp(expected.loss as number), 2);
    expect(Math.abs(r.accuracy - (expected.accuracy as number))).toBeLessThanOrEqual(2 / (expected.targets as number));
  });
});
