import type * as tf from '@tensorflow/tfjs';
import { BitLinear } from './bit-linear.js';

function* bitLinearsOf(layers: readonly tf.layers.Layer[]): Generator<BitLinear> {
  for (const layer of layers) {
    if (layer instanceof BitLinear) yield layer;
    const inner = (layer as { layers?: tf.layers.Layer[] }).layers;
    if (inner !== undefined) yield* bitLinearsOf(inner);
  }
}

/**
 * Caches every BitLinear's ternary weights with asynchronous reads: call it before inference on
 * backends without synchronous reads (tfjs-webgpu in Node). Returns how many layers it prepared.
 */
export async function prepareInference(model: { layers: tf.layers.Layer[] }): Promise<number> {
  let n = 0;
  for (const layer of bitLinearsOf(model.layers)) {
    await layer.prepareInference();
    n++;
  }
  return n;
}
