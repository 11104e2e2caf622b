import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import type { TokenRunner } from './generate.js';

/**
 * A tfjs language model (tokens [1, T] in, logits [1, T, vocab] out) fed token by token: each step
 * runs the whole sequence so far (no KV cache), the full-precision path for `bitnet generate <hf-dir>`.
 */
export class TfjsLmRunner implements TokenRunner {
  private tokens: number[] = [];

  constructor(
    private readonly model: tf.LayersModel,
    readonly contextLength: number,
  ) {}

  get position(): number {
    return this.tokens.length;
  }

  reset(): void {
    this.tokens = [];
  }

  prefillAsync(tokens: readonly number[]): Promise<Float32Array> {
    if (tokens.length === 0) throw new BitNetError('INVALID_ARGUMENT', 'no tokens to feed', { field: 'tokens' });
    if (this.tokens.length + tokens.length > this.contextLength) {
      throw new BitNetError('INVALID_ARGUMENT', `the context holds ${this.contextLength} positions`, { field: 'position' });
    }
    this.tokens.push(...tokens);
    const n = this.tokens.length;
    const last = tf.tidy(() => {
      const logits = this.model.predict(tf.tensor2d([this.tokens], [1, n], 'int32')) as tf.Tensor3D;
      return tf.reshape(tf.slice(logits, [0, n - 1, 0], [1, 1, -1]), [-1]);
    });
    return last.data().then((d) => {
      last.dispose();
      return d as Float32Array;
    });
  }

  forwardAsync(token: number): Promise<Float32Array> {
    return this.prefillAsync([token]);
  }
}
