// Issue #16, CPU: one batch through a bitnet-lm on tfjs-wasm with every native path of the addon
// (GEMM, fake quantization, RMSNorm, SwiGLU, attention) against the same model on the tfjs-cpu
// backend in tfjs operations: the loss and every parameter's gradient agree. tfjs-cpu is the
// reference, not tfjs-wasm's own operations: those sum the weight's absmean in float32 in another
// order, which moves ternary weights across a rounding boundary and their gradients by 5 % of the
// largest (measured), while the native kernels take the mean in double as the quantization core
// does. Rounding still moves a few activations to the next int8 level (3.6e-4 of the largest
// gradient measured on this shape, 1.7e-3 on the bench's small model); a wrong kernel misses by far more.
import { afterAll, describe, expect, it } from 'vitest';
import { loadNativeTier } from '../../src/kernels/native/tier.js';
import { nativeMatMulOnWasm } from '../../src/kernels/native/wasm-matmul.js';
import { nativeTrainingOnWasm } from '../../src/kernels/native/wasm-training.js';
import { buildRecipeModel } from '../../src/recipe/build.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { createTask } from '../../src/recipe/tasks.js';
import { batchGradients, trainableParams } from '../../src/recipe/train-step.js';
import { configure } from '../../src/settings.js';
import { tf, useBackend } from '../helpers/tf.js';

const hasAddon = loadNativeTier() !== null;

async function gradientsOn(backend: 'cpu' | 'wasm'): Promise<{ loss: number; grads: Float32Array[]; keys: string[] }> {
  await useBackend(backend);
  const set = ['hiddenSize=128', 'intermediateSize=320', 'numLayers=1', 'numHeads=4', 'numKvHeads=2'].map((s) => `model.${s}`);
  const recipe = loadRecipe('recipes/shakespeare-lm-bitnet.json', { set: [...set, 'data.contextLength=48', 'train.batchSize=8', `backend=${backend}`] });
  const { model } = await buildRecipeModel(recipe, () => {});
  const task = createTask(recipe, undefined);
  const params = trainableParams(model);
  const { x, labels } = task.batch(2);
  const before = tf.memory().numTensors;
  const out = await batchGradients(model, params, task, { x, labels });
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, labels]);
  model.dispose();
  return { ...out, keys: params.map((p) => p.key) };
}

describe('one step on tfjs-wasm with the native kernels against tfjs-cpu', () => {
  afterAll(() => configure({ unfused: [] }));

  it('runs the native paths exactly when the addon is built', async () => {
    await useBackend('wasm');
    configure({ unfused: [] });
    for (const path of ['matmul', 'fake-quant', 'rms-norm', 'swiglu', 'attention'] as const) {
      expect(path === 'matmul' ? nativeMatMulOnWasm() : nativeTrainingOnWasm(path), path).toBe(hasAddon);
    }
  });

  // registered only with the addon (the case above asserts its absence otherwise: nothing is skipped)
  if (!hasAddon) return;

  it('loss and every gradient agree', async () => {
    configure({ unfused: [] });
    const native = await gradientsOn('wasm');
    const reference = await gradientsOn('cpu');
    expect(Math.abs(native.loss - reference.loss)).toBeLessThan(1e-5 * reference.loss);
    reference.grads.forEach((want, i) => {
      const got = native.grads[i] as Float32Array;
      let worst = 0;
      let scale = 0;
      want.forEach((v, j) => {
        worst = Math.max(worst, Math.abs((got[j] as number) - v));
        scale = Math.max(scale, Math.abs(v));
      });
      const key = reference.keys[i] as string;
      expect(scale, `${key} has a gradient`).toBeGreaterThan(0);
      expect(worst / scale, key).toBeLessThan(5e-3);
    });
  });
});
