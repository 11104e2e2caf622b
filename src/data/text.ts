import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer.js';
import { SeededRandom } from '../util/random.js';

export interface TextSplit {
  train: Int32Array;
  validation: Int32Array;
}

/** Text to token ids: the byte tokenizer's, or a model's (an HF tokenizer without added special tokens). */
export type TextEncoder = (text: string) => readonly number[];

const byteEncoder: TextEncoder = (text) => new ByteTokenizer().encode(text);

/**
 * Tokenizes a UTF-8 file as a whole and splits the ids: the first floor(trainFraction * n) train,
 * the rest validates.
 */
export function loadTextSplit(path: string, trainFraction: number, encode: TextEncoder = byteEncoder): TextSplit {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `cannot read text data ${path}`, { field: 'data.path', cause });
  }
  const tokens = Int32Array.from(encode(text));
  const cut = Math.floor(tokens.length * trainFraction);
  return { train: tokens.subarray(0, cut), validation: tokens.subarray(cut) };
}

/**
 * Random windows of `contextLength + 1` tokens: inputs are the first T, targets the last T. The
 * offsets of step s depend on (seed, s) only, so a resumed run sees the same batches.
 */
export class TextBatches {
  readonly stepsPerEpoch: number;

  constructor(
    readonly tokens: Int32Array,
    readonly contextLength: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (tokens.length <= contextLength + 1) {
      throw new BitNetError('INVALID_CONFIG', `the training text has ${tokens.length} tokens, fewer than contextLength + 1`, { field: 'data.contextLength' });
    }
    this.stepsPerEpoch = Math.max(1, Math.floor(tokens.length / (contextLength * batchSize)));
  }

  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  batch(step: number): { x: tf.Tensor2D; labels: tf.Tensor2D } {
    const rng = new SeededRandom((this.seed * 1_000_003 + step * 7919) >>> 0);
    const t = this.contextLength;
    const x = new Int32Array(this.batchSize * t);
    const y = new Int32Array(this.batchSize * t);
    for (let b = 0; b < this.batchSize; b++) {
      const start = rng.int(this.tokens.length - t - 1);
      for (let i = 0; i < t; i++) {
        x[b * t + i] = this.tokens[start + i] as number;
        y[b * t + i] = this.tokens[start + i + 1] as number;
      }
    }
    return { x: tf.tensor2d(x, [this.batchSize, t], 'int32'), labels: tf.tensor2d(y, [this.batchSize, t], 'int32') };
  }
}

/** Consecutive validation windows from the start of the split, about `tokens` targets in all. */
export function validationWindows(validation: Int32Array, contextLength: number, tokens: number): { x: Int32Array; y: Int32Array; count: number } {
  const count = Math.max(1, Math.min(Math.floor(tokens / contextLength), Math.floor((validation.length - 1) / contextLength)));
  const x = new Int32Array(count * contextLength);
  const y = new Int32Array(count * contextLength);
  for (let w = 0; w < count; w++) {
    for (let i = 0; i < contextLength; i++) {
      x[w * contextLength + i] = validation[w * contextLength + i] as number;
      y[w * contextLength + i] = validation[w * contextLength + i + 1] as number;
    }
  }
  return { x, y, count };
}
