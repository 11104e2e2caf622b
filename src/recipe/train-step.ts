import * as tf from '@tensorflow/tfjs';
import { clipScale, type Optimizer, type Param } from '../train/optimizer.js';
import type { Distiller } from '../train/distill.js';
import { modelVariables } from './checkpoint.js';
import type { TrainTask } from './tasks.js';

/** The model's trainable variables, keyed as checkpoints key them. */
export function trainableParams(model: tf.LayersModel): Param[] {
  const byName = new Map([...modelVariables(model)].map(([key, w]) => [w.name, key]));
  return model.trainableWeights.map((w) => ({ key: byName.get(w.name) as string, variable: w.read() as tf.Variable }));
}

export interface StepOptions {
  lr: number;
  weightDecay: number;
  gradClip?: number | undefined;
  distiller?: Distiller | undefined;
}

/**
 * One optimizer step on one batch (the step every recipe runs, and what `bench:train` measures):
 * loss and gradients, clipping, the update. Returns the loss; frees the batch.
 */
export async function trainStep(
  model: tf.LayersModel,
  params: readonly Param[],
  optimizer: Optimizer,
  task: Pick<TrainTask, 'loss'>,
  batch: { x: tf.Tensor; labels: tf.Tensor },
  o: StepOptions,
): Promise<number> {
  const { x, labels } = batch;
  const distiller = o.distiller;
  const taught = distiller?.teach(x) ?? [];
  const { value, grads } = tf.variableGrads(
    () =>
      distiller === undefined
        ? task.loss(model.apply(x, { training: true }) as tf.Tensor, labels)
        : distiller.loss(x, labels, taught, (logits, y) => task.loss(logits, y)),
    params.map((p) => p.variable),
  );
  tf.dispose(taught);
  const gradMap = new Map(params.map((p) => [p.key, grads[p.variable.name] as tf.Tensor]));
  // clipping stays on the device: the only read of a step is its loss, after everything is queued
  const clip = o.gradClip === undefined ? undefined : clipScale(gradMap, o.gradClip);
  optimizer.step(params, gradMap, o.lr, o.weightDecay, clip?.scale);
  tf.dispose([x, labels, ...Object.values(grads), ...(clip === undefined ? [] : [clip.norm, clip.scale])]);
  const loss = (await value.data())[0] as number;
  value.dispose();
  return loss;
}

/** One batch's loss and every parameter's gradient (in `params` order), read back; nothing is updated or left allocated. */
export async function batchGradients(
  model: tf.LayersModel,
  params: readonly Param[],
  task: Pick<TrainTask, 'loss'>,
  batch: { x: tf.Tensor; labels: tf.Tensor },
): Promise<{ loss: number; grads: Float32Array[] }> {
  const { value, grads } = tf.variableGrads(
    () => task.loss(model.apply(batch.x, { training: true }) as tf.Tensor, batch.labels),
    params.map((p) => p.variable),
  );
  const out = {
    loss: (await value.data())[0] as number,
    grads: await Promise.all(params.map(async (p) => (await (grads[p.variable.name] as tf.Tensor).data()) as Float32Array)),
  };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}
