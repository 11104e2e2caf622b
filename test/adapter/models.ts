import { bitLinear } from '../../src/nn/bit-linear.js';
import { seededArray, tf } from '../helpers/tf.js';

export const IN = 12;

/** Sequential: fc1 Dense(16, relu) -> fc2 Dense(8) -> head Dense(4). */
export function denseMlp(seed = 1): tf.Sequential {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 10 + i });
  const model = tf.sequential({ name: 'mlp' });
  model.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [IN], name: 'fc1', kernelInitializer: init(1), biasInitializer: 'ones' }));
  model.add(tf.layers.dense({ units: 8, name: 'fc2', kernelInitializer: init(2) }));
  model.add(tf.layers.dense({ units: 4, name: 'head', kernelInitializer: init(3) }));
  return model;
}

/** Functional: x -> (a, b) Dense(10) each -> add -> out Dense(3). */
export function branchModel(seed = 2): tf.LayersModel {
  const input = tf.input({ shape: [IN], name: 'x' });
  const a = tf.layers.dense({ units: 10, name: 'branch.a', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input);
  const b = tf.layers.dense({ units: 10, name: 'branch.b', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(input);
  const sum = tf.layers.add({ name: 'sum' }).apply([a, b] as tf.SymbolicTensor[]);
  const out = tf.layers.dense({ units: 3, name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }).apply(sum);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor, name: 'branchy' });
}

/** Sequential with ternary layers: fc1 BitLinear(16) -> relu -> fc2 BitLinear(8) -> head Dense(4). */
export function bitnetMlp(seed = 3): tf.Sequential {
  const model = tf.sequential({ name: 'ternary' });
  model.add(tf.layers.inputLayer({ inputShape: [IN] }));
  model.add(bitLinear({ units: 16, name: 'fc1', useRmsNorm: false, kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.activation({ activation: 'relu', name: 'act' }));
  model.add(bitLinear({ units: 8, name: 'fc2', useRmsNorm: false, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  model.add(tf.layers.dense({ units: 4, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  return model;
}

export function inputs(n = 6, seed = 5): tf.Tensor2D {
  return tf.tensor2d(seededArray(n * IN, seed, 1.5), [n, IN]);
}

export function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

/** Every weight's values by variable name. */
export function snapshot(model: tf.LayersModel): Map<string, { trainable: boolean; values: Float32Array }> {
  const out = new Map<string, { trainable: boolean; values: Float32Array }>();
  for (const layer of model.layers) {
    for (const w of layer.weights) out.set(w.name, { trainable: layer.trainable && w.trainable, values: Float32Array.from(w.read().dataSync()) });
  }
  return out;
}

export async function trainSteps(model: tf.LayersModel, steps = 3): Promise<void> {
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const x = inputs(16, 9);
  const outUnits = model.outputs[0]?.shape.at(-1) ?? 1;
  const y = tf.tensor2d(seededArray(16 * outUnits, 10), [16, outUnits]);
  await model.fit(x, y, { epochs: steps, batchSize: 16, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
}
