// Issue #18: multiple-choice scoring (lm-evaluation-harness's acc and acc_norm) on a hand-checked
// set, with a model whose probabilities are written down: after byte b, the next byte is b + 1 with
// probability 0.9, a space with 0.05, and each of the other 255 tokens with 0.05 / 255.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { multipleChoice, scoreChoices, splitRequest, type ChoiceItem } from '../../src/eval/multiple-choice.js';
import type { LogitsFn } from '../../src/eval/lm-score.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';

const VOCAB = 257;
const SPACE = 32;
function logProbRow(prev: number): Float32Array {
  const row = new Float32Array(VOCAB).fill(Math.log(0.05 / 255));
  row[SPACE] = Math.log(0.05);
  row[prev + 1] = Math.log(0.9);
  return row;
}
const successorModel: LogitsFn = (x, batch, length) => {
  const out = new Float32Array(batch * length * VOCAB);
  x.forEach((id, i) => out.set(logProbRow(id), i * VOCAB));
  return Promise.resolve(tf.tensor3d(out, [batch, length, VOCAB]));
};
const bytes = new ByteTokenizer();
const encode = (text: string): number[] => bytes.encode(text);

const [SUCC, SPACE_LP, OTHER] = [Math.log(0.9), Math.log(0.05), Math.log(0.05 / 255)];

// A: "c" follows "b" (ln 0.9); "z" does not. Both metrics pick the gold 0.
// B: "x" = ln(0.05/255) = -8.537 beats "cdefghij q" = 8 ln 0.9 + ln 0.05 + ln(0.05/255) = -12.376 on
//    the sum, but per character -1.238 beats -8.537: acc picks 0, acc_norm the gold 1.
// C: the context's trailing space moves to the continuation: " c" = ln 0.05 + ln(0.05/255) and
//    " !" = ln 0.05 + ln 0.9 ("!" follows the space): both metrics pick 1, the gold is 0.
const items: ChoiceItem[] = [
  { context: 'ab', choices: ['c', 'z'], gold: 0 },
  { context: 'ab', choices: ['x', 'cdefghij q'], gold: 1 },
  { context: 'ab ', choices: ['c', '!'], gold: 0 },
];

describe('multiple choice as lm-evaluation-harness scores it', () => {
  it('log-likelihoods of each choice, by hand', async () => {
    const b = await scoreChoices(successorModel, items[1] as ChoiceItem, encode, ByteTokenizer.EOT, 64);
    expect(b.logLikelihoods[0]).toBeCloseTo(OTHER, 4);
    expect(b.logLikelihoods[1]).toBeCloseTo(8 * SUCC + SPACE_LP + OTHER, 4);
    expect([b.pick, b.pickNorm]).toEqual([0, 1]);
    const c = await scoreChoices(successorModel, items[2] as ChoiceItem, encode, ByteTokenizer.EOT, 64);
    expect(c.logLikelihoods[0]).toBeCloseTo(SPACE_LP + OTHER, 4);
    expect(c.logLikelihoods[1]).toBeCloseTo(SPACE_LP + SUCC, 4);
  });

  it('acc and acc_norm over the set', async () => {
    const before = tf.memory().numTensors;
    const m = await multipleChoice(successorModel, items, encode, ByteTokenizer.EOT, 64);
    expect(m).toEqual({ acc: 1 / 3, accNorm: 2 / 3, items: 3 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('splits requests as the harness does: trailing spaces move, an empty context is end-of-text', () => {
    expect(splitRequest('ab ', 'c', encode, 256)).toEqual({ context: [97, 98], continuation: [32, 99] });
    expect(splitRequest('', 'hi', encode, 256)).toEqual({ context: [256], continuation: [104, 105] });
  });
});
