import { describe, expect, it } from 'vitest';
import { mnistSplit } from '../../src/data/mnist.js';
import { buildMlp } from '../../src/models/mlp.js';
import { tf, useBackend } from '../helpers/tf.js';

const data = mnistSplit({ trainSize: 2000, testSize: 500, seed: 1 });

function tensors(split: typeof data.train): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return {
    x: tf.tensor2d(split.images, [split.count, 784]),
    y: tf.oneHot(tf.tensor1d(split.labels, 'int32'), 10).toFloat() as tf.Tensor2D,
  };
}

async function train(epochs: number, seed: number): Promise<{ model: tf.Sequential; losses: number[]; accuracy: number }> {
  const model = buildMlp({ inputSize: 784, hidden: [128], outputs: 10, layer: 'bitlinear', seed, bitnet: { useRmsNorm: true } });
  model.compile({ optimizer: tf.train.adam(2e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const trainSet = tensors(data.train);
  const testSet = tensors(data.test);
  const history = await model.fit(trainSet.x, trainSet.y, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
  const evaluated = model.evaluate(testSet.x, testSet.y) as tf.Scalar[];
  const accuracy = (await (evaluated[1] as tf.Scalar).data())[0] as number;
  tf.dispose([trainSet.x, trainSet.y, testSet.x, testSet.y, ...evaluated]);
  return { model, losses: history.history.loss as number[], accuracy };
}

describe.each(['cpu', 'wasm'] as const)('a 2-layer BitLinear MLP on MNIST digits (%s)', (backend) => {
  it('trains with model.fit: the loss falls and test accuracy is far above chance', async () => {
    await useBackend(backend);
    const { model, losses, accuracy } = await train(4, 1);
    expect(losses.length).toBe(4);
    expect(losses.at(-1) as number).toBeLessThan((losses[0] as number) * 0.6);
    expect(accuracy).toBeGreaterThan(0.8);
    model.dispose();
  });
});

describe('determinism', () => {
  it('two cpu runs with the same seed give identical weights', async () => {
    await useBackend('cpu');
    const a = await train(1, 7);
    const b = await train(1, 7);
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wa.length).toBe(6); // per layer: norm gain, kernel, bias
    expect(wa).toEqual(wb);
    const c = await train(1, 8);
    expect(c.model.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(wa);
    [a, b, c].forEach((r) => r.model.dispose());
  });
});
