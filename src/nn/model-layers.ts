import type * as tf from '@tensorflow/tfjs';

/** The layers of a model with their paths (the layer names; nested models are not entered). */
export function modelLayers(model: tf.LayersModel): { path: string; layer: tf.layers.Layer }[] {
  return model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((layer) => ({ path: layer.name, layer }));
}
