import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import type { Kwargs, LayerArgs, Shape } from './tfjs-types.js';

export interface CausalAttentionArgs extends LayerArgs {
  numHeads: number;
  numKvHeads: number;
  ropeTheta: number;
}

/** Rotates pairs (i, i + d/2) of the last axis by position-dependent angles (NeoX-style RoPE). */
export function ropeNeox(x: tf.Tensor4D, theta: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , t, d] = x.shape;
    const half = d / 2;
    const inv = tf.pow(tf.scalar(theta), tf.div(tf.mul(tf.range(0, half, 1, 'float32'), -2), d));
    const angles = tf.mul(tf.expandDims(tf.range(0, t, 1, 'float32'), 1), tf.expandDims(inv, 0));
    const cos = tf.cos(angles);
    const sin = tf.sin(angles);
    const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
    return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x1, sin), tf.mul(x2, cos))], -1) as tf.Tensor4D;
  });
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

  constructor(args: CausalAttentionArgs) {
    super(args);
    if (args.numHeads % args.numKvHeads !== 0) throw new BitNetError('INVALID_CONFIG', 'numHeads must be a multiple of numKvHeads', { field: 'numKvHeads' });
    this.numHeads = args.numHeads;
    this.numKvHeads = args.numKvHeads;
    this.ropeTheta = args.ropeTheta;
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
        return tf.concat(kvHeads.flatMap((h) => new Array<tf.Tensor4D>(group).fill(h as tf.Tensor4D)), 1) as tf.Tensor4D;
      };
      const qh = ropeNeox(heads(q as tf.Tensor3D, this.numHeads), this.ropeTheta);
      const kh = repeat(ropeNeox(heads(k as tf.Tensor3D, this.numKvHeads), this.ropeTheta));
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
    return { ...super.getConfig(), numHeads: this.numHeads, numKvHeads: this.numKvHeads, ropeTheta: this.ropeTheta };
  }
}
