import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';

export interface DistillOptions {
  temperature: number;
  /** Weight of the logits term: (1 - alpha) * CE + alpha * T^2 * KL. */
  alpha: number;
  /** MiniLM attention relations at one layer (BitDistill), added with `weight`. */
  attentionRelation?: { layer: number; weight: number } | undefined;
}

/** Where the attention relations are read: the q, k, v projection outputs of one layer, and their head counts. */
export interface RelationSite {
  layers: [q: string, k: string, v: string];
  heads: [q: number, k: number, v: number];
}

/**
 * KL(teacher || student) of the softmaxes at temperature T, averaged over positions and scaled by T^2
 * (Hinton et al.), so its gradient keeps the size of the cross-entropy's as T changes.
 */
export function logitsDistillation(student: tf.Tensor, teacher: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const classes = student.shape[student.rank - 1] as number;
    const s = tf.logSoftmax(tf.div(tf.reshape(student, [-1, classes]), temperature));
    const t = tf.logSoftmax(tf.div(tf.reshape(teacher, [-1, classes]), temperature));
    const kl = tf.sum(tf.mul(tf.exp(t), tf.sub(t, s)), -1);
    return tf.mul(tf.mean(kl), temperature * temperature);
  });
}

/** log softmax(X X^T / sqrt(d)) per head over the causal past: [B, heads, T, T]. */
function logRelations(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, t, width] = x.shape as [number, number, number];
  const d = width / heads;
  const h = tf.transpose(tf.reshape(x, [b, t, heads, d]), [0, 2, 1, 3]);
  const scores = tf.mul(tf.matMul(h, h, false, true), 1 / Math.sqrt(d));
  const future = tf.sub(1, tf.linalg.bandPart(tf.ones([t, t]), -1, 0));
  return tf.logSoftmax(tf.add(scores, tf.mul(future, -1e9))) as tf.Tensor4D;
}

/**
 * MiniLM-v2 self-attention relation distillation (BitDistill's attention loss): for each of q, k and v,
 * KL between the teacher's and the student's scaled dot-product relations, per head and causal row;
 * the mean of the three.
 */
export function relationDistillation(student: readonly tf.Tensor[], teacher: readonly tf.Tensor[], heads: readonly number[]): tf.Scalar {
  return tf.tidy(() => {
    const terms = student.map((s, i) => {
      const ls = logRelations(s, heads[i] as number);
      const lt = logRelations(teacher[i] as tf.Tensor, heads[i] as number);
      return tf.mean(tf.sum(tf.mul(tf.exp(lt), tf.sub(lt, ls)), -1));
    });
    return tf.div<tf.Scalar>(
      terms.reduce((a, b) => tf.add(a, b)),
      terms.length,
    );
  });
}

/** The model's logits and, when a relation site is given, the q, k, v outputs there: one model sharing the weights. */
function probe(model: tf.LayersModel, site: RelationSite | undefined): tf.LayersModel {
  if (site === undefined) return model;
  const outputs = site.layers.map((name) => {
    try {
      return model.getLayer(name).output as tf.SymbolicTensor;
    } catch (cause) {
      throw new BitNetError('INVALID_CONFIG', `the model has no layer ${name} for attention-relation distillation`, {
        field: 'distill.attentionRelation.layer',
        cause,
      });
    }
  });
  return tf.model({ inputs: model.inputs, outputs: [model.outputs[0] as tf.SymbolicTensor, ...outputs] });
}

/**
 * Distillation from a frozen full-precision teacher: the training loss becomes
 * (1 - alpha) * CE + alpha * T^2 * KL(teacher || student) [+ weight * attention relations].
 */
export class Distiller {
  private readonly student: tf.LayersModel;
  private readonly teacher: tf.LayersModel;

  constructor(
    student: tf.LayersModel,
    teacher: tf.LayersModel,
    private readonly options: DistillOptions,
    private readonly site?: RelationSite,
  ) {
    this.student = probe(student, options.attentionRelation === undefined ? undefined : site);
    this.teacher = probe(teacher, options.attentionRelation === undefined ? undefined : site);
  }

  /** The teacher's outputs for a batch (no gradient): dispose them after the step. */
  teach(x: tf.Tensor): tf.Tensor[] {
    return tf.tidy(() => {
      const out = this.teacher.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      return Array.isArray(out) ? out : [out];
    });
  }

  /** The training loss of the student on a batch, given the teacher's outputs and the task's cross-entropy. */
  loss(x: tf.Tensor, labels: tf.Tensor, taught: readonly tf.Tensor[], crossEntropy: (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar): tf.Scalar {
    return tf.tidy(() => {
      const out = this.student.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
      const [logits, ...attention] = Array.isArray(out) ? out : [out];
      const { alpha, temperature, attentionRelation } = this.options;
      const ce = crossEntropy(logits as tf.Tensor, labels);
      let total = tf.add(tf.mul(ce, 1 - alpha), tf.mul(logitsDistillation(logits as tf.Tensor, taught[0] as tf.Tensor, temperature), alpha));
      if (attentionRelation !== undefined && this.site !== undefined) {
        total = tf.add(total, tf.mul(relationDistillation(attention, taught.slice(1), this.site.heads), attentionRelation.weight));
      }
      return total as tf.Scalar;
    });
  }
}
