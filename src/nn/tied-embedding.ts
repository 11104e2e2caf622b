import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { linearMatMul } from './matmul.js';
import { singleInput, singleShape, type Kwargs, type LayerArgs, type LayerVariable, type Shape } from './tfjs-types.js';

export interface TiedEmbeddingArgs extends LayerArgs {
  vocabSize: number;
  dim: number;
  /** Std of the normal initialization (default 0.02). */
  initStd?: number;
}

/**
 * Token embedding tied to the output head: applied to int32 tokens [B, T] it looks rows up
 * ([B, T, dim]); applied to hidden states [B, T, dim] it returns logits h · E^T ([B, T, vocab]).
 * Share one instance between the two places (llama.cpp's bitnet architecture has no output.weight).
 */
export class TiedEmbedding extends tf.layers.Layer {
  static className = 'TiedEmbedding';
  readonly vocabSize: number;
  readonly dim: number;
  readonly initStd: number;
  private embeddings: LayerVariable | undefined;

  constructor(args: TiedEmbeddingArgs) {
    super(args);
    if (!(args.vocabSize > 0 && args.dim > 0))
      throw new BitNetError('INVALID_CONFIG', 'TiedEmbedding needs a positive vocabSize and dim', { field: 'vocabSize' });
    this.vocabSize = args.vocabSize;
    this.dim = args.dim;
    this.initStd = args.initStd ?? 0.02;
  }

  override build(): void {
    this.embeddings = this.addWeight('embeddings', [this.vocabSize, this.dim], 'float32', tf.initializers.randomNormal({ stddev: this.initStd, seed: 7 }));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      const e = (this.embeddings as LayerVariable).read();
      if (x.dtype === 'int32' || x.rank === 2) {
        // one-hot times the table rather than gather: gather's gradient (UnsortedSegmentSum) has no wasm kernel
        const oneHot = tf.oneHot(tf.reshape<tf.Rank.R1>(tf.cast(x, 'int32'), [-1]), this.vocabSize);
        return tf.reshape(linearMatMul(tf.cast(oneHot, 'float32') as tf.Tensor2D, e as tf.Tensor2D), [...x.shape, this.dim]);
      }
      const flat = tf.reshape<tf.Rank.R2>(x, [-1, this.dim]);
      return tf.reshape(linearMatMul(flat, tf.transpose(e) as tf.Tensor2D), [...x.shape.slice(0, -1), this.vocabSize]);
    });
  }

  /**
   * A tied model applies this layer twice (embedding and output head), and tfjs counts each use, but
   * the model disposes each layer once: without this the table outlived its model.
   */
  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    let result = super.dispose();
    while (result.refCountAfterDispose > 0) result = super.dispose();
    return result;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape);
    return shape.length === 2 ? [...shape, this.dim] : [...shape.slice(0, -1), this.vocabSize];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), vocabSize: this.vocabSize, dim: this.dim, initStd: this.initStd };
  }
}
