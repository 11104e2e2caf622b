import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { ropeTensor } from './rope.js';
import type { Kwargs, LayerArgs, Shape } from './tfjs-types.js';

export interface CausalAttentionArgs extends LayerArgs {
  numHeads: number;
  numKvHeads: number;
  ropeTheta: number;
  /** llama3 rope scaling's per-pair divisors (src/nn/rope.ts), when the model has them. */
  ropeFreqFactors?: number[];
}

/**
 * Causal multi-head attention over projected q, k, v ([B, T, heads * d] each; k and v with
 * numKvHeads heads, shared by groups of query heads), with NeoX RoPE on q and k. No weights: the
 * projections around it are BitLinear (or Dense) layers, so adapters can target them.
 */
export class CausalAttention extends tf.layers.Layer {
  static className = 'CausalAttention';
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly ropeTheta: number;
  readonly ropeFreqFactors: number[] | undefined;

  constructor(args: CausalAttentionArgs) {
    super(args);
    if (args.numHeads % args.numKvHeads !== 0) throw new BitNetError('INVALID_CONFIG', 'numHeads must be a multiple of numKvHeads', { field: 'numKvHeads' });
    this.numHeads = args.numHeads;
    this.numKvHeads = args.numKvHeads;
    this.ropeTheta = args.ropeTheta;
    this.ropeFreqFactors = args.ropeFreqFactors;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [q, k, v] = inputs as tf.Tensor3D[];
      const [b, t, width] = (q as tf.Tensor3D).shape;
      const d = width / this.numHeads;
      const heads = (x: tf.Tensor3D, n: number): tf.Tensor4D => tf.transpose(tf.reshape(x, [b, t, n, d]), [0, 2, 1, 3]);
      const repeat = (x: tf.Tensor4D): tf.Tensor4D => {
        const group = this.numHeads / this.numKvHeads;
        if (group === 1) return x;
        // each key/value head serves `group` query heads (slices and concat: both differentiable on every backend)
        const kvHeads = tf.split(x, this.numKvHeads, 1);
        return tf.concat<tf.Tensor4D>(
          kvHeads.flatMap((h) => new Array<tf.Tensor4D>(group).fill(h as tf.Tensor4D)),
          1,
        );
      };
      const qh = ropeTensor(heads(q as tf.Tensor3D, this.numHeads), this.ropeTheta, this.ropeFreqFactors);
      const kh = repeat(ropeTensor(heads(k as tf.Tensor3D, this.numKvHeads), this.ropeTheta, this.ropeFreqFactors));
      const vh = repeat(heads(v as tf.Tensor3D, this.numKvHeads));
      const scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(d));
      const allowed = tf.linalg.bandPart(tf.ones([t, t]), -1, 0);
      const masked = tf.add(scores, tf.mul(tf.sub(1, allowed), -1e9));
      const out = tf.matMul(tf.softmax(masked), vh);
      return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, width]);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (inputShape as Shape[])[0] as Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      numKvHeads: this.numKvHeads,
      ropeTheta: this.ropeTheta,
      ...(this.ropeFreqFactors === undefined ? {} : { ropeFreqFactors: this.ropeFreqFactors }),
    };
  }
}
