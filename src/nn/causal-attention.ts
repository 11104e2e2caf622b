import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { causalAttentionFused } from './fused-attention.js';
import { ropeTableArrays, ropeTensor } from './rope.js';
import type { Kwargs, LayerArgs, Shape } from './tfjs-types.js';
import { softwareAdapter, useFused } from '../kernels/webgpu/fused.js';
import { causalAttentionOnWasm, nativeTrainingOnWasm } from '../kernels/native/wasm-training.js';

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
    const [q, k, v] = inputs as tf.Tensor3D[];
    const attend = useFused('attention') ? attentionOnWebGpu : nativeTrainingOnWasm('attention') ? attentionOnWasm : causalAttentionOps;
    return attend(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, this);
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

type AttentionSettings = Pick<CausalAttention, 'numHeads' | 'numKvHeads' | 'ropeTheta' | 'ropeFreqFactors'>;

/** Query heads × positions × head size above which the fused kernels' loops outrun llvmpipe's loop limit. */
const SOFTWARE_LOOP_LIMIT = 16_384;

function attentionOnWebGpu(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, a: AttentionSettings): tf.Tensor3D {
  const headDim = q.shape[2] / a.numHeads;
  const group = a.numHeads / a.numKvHeads;
  if (softwareAdapter() && group * q.shape[1] * headDim > SOFTWARE_LOOP_LIMIT) return causalAttentionOps(q, k, v, a);
  return causalAttentionFused(q, k, v, { heads: a.numHeads, kvHeads: a.numKvHeads, headDim }, a.ropeTheta, a.ropeFreqFactors);
}

function attentionOnWasm(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, a: AttentionSettings): tf.Tensor3D {
  const headDim = q.shape[2] / a.numHeads;
  const rope = ropeTableArrays(q.shape[1], headDim, a.ropeTheta, a.ropeFreqFactors);
  return causalAttentionOnWasm(q, k, v, { heads: a.numHeads, kvHeads: a.numKvHeads, headDim, rope });
}

/** CausalAttention in tfjs operations (every backend but webgpu): scores [B, heads, T, T], masked softmax. */
export function causalAttentionOps(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, a: AttentionSettings): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, t, width] = q.shape;
    const d = width / a.numHeads;
    const heads = (x: tf.Tensor3D, n: number): tf.Tensor4D => tf.transpose(tf.reshape(x, [b, t, n, d]), [0, 2, 1, 3]);
    const repeat = (x: tf.Tensor4D): tf.Tensor4D => {
      const group = a.numHeads / a.numKvHeads;
      if (group === 1) return x;
      // each key/value head serves `group` query heads (slices and concat: both differentiable on every
      // backend; tfjs's gradient of a split into one piece fails, so one head is not split)
      const kvHeads = a.numKvHeads === 1 ? [x] : tf.split(x, a.numKvHeads, 1);
      return tf.concat<tf.Tensor4D>(
        kvHeads.flatMap((h) => new Array<tf.Tensor4D>(group).fill(h as tf.Tensor4D)),
        1,
      );
    };
    const qh = ropeTensor(heads(q, a.numHeads), a.ropeTheta, a.ropeFreqFactors);
    const kh = repeat(ropeTensor(heads(k, a.numKvHeads), a.ropeTheta, a.ropeFreqFactors));
    const vh = repeat(heads(v, a.numKvHeads));
    const scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(d));
    const allowed = tf.linalg.bandPart(tf.ones([t, t]), -1, 0);
    const masked = tf.add(scores, tf.mul(tf.sub(1, allowed), -1e9));
    const out = tf.matMul(tf.softmax(masked), vh);
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, width]);
  });
}
