// Issue #16: every fused WGSL path together must give the gradients the tfjs operations give. One
// batch through a bitnet-lm on webgpu (llvmpipe in CI), once with every fused path and once with
// all of them off (BITNET_WEBGPU_UNFUSED's paths, through configure): the loss and the gradient of
// every parameter agree. The shape makes each path run: grouped heads (4 query heads per key/value
// head), two attention workgroups, and FFN products large enough for the tiled matmul (2,048 rows
// x 2,048 columns: 256 tiles). Rounding differs between the paths and can move an activation to
// the next int8 level, so the gradients agree to 1e-3 of their largest value, not bit for bit;
// a wrong kernel misses by orders of magnitude more (a dK computed as zero missed by 0.8).
import { afterAll, describe, expect, it } from 'vitest';
import { FUSED_PATHS, configure } from '../../src/settings.js';
import { buildRecipeModel } from '../../src/recipe/build.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { createTask } from '../../src/recipe/tasks.js';
import { batchGradients, trainableParams } from '../../src/recipe/train-step.js';
import { tf, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('fused training gradients on webgpu');

describe.runIf(available)('one step on webgpu: fused paths against tfjs operations', () => {
  afterAll(() => configure({ unfused: [] }));

  it('loss and every gradient agree', async () => {
    const set = ['hiddenSize=256', 'intermediateSize=2048', 'numLayers=1', 'numHeads=8', 'numKvHeads=2'].map((s) => `model.${s}`);
    const recipe = loadRecipe('recipes/shakespeare-lm-bitnet.json', { set: [...set, 'data.contextLength=128', 'train.batchSize=16', 'backend=webgpu'] });
    const { model } = await buildRecipeModel(recipe, () => {});
    const task = createTask(recipe, undefined);
    const params = trainableParams(model);
    const { x, labels } = task.batch(3);
    const before = tf.memory().numTensors;
    const run = async (unfused: (typeof FUSED_PATHS)[number][]): Promise<{ loss: number; grads: Float32Array[] }> => {
      configure({ unfused });
      return batchGradients(model, params, task, { x, labels });
    };
    const fused = await run([]);
    const ops = await run([...FUSED_PATHS]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
    model.dispose();
    expect(Math.abs(fused.loss - ops.loss)).toBeLessThan(1e-5 * ops.loss);
    params.forEach((p, i) => {
      const [a, b] = [fused.grads[i] as Float32Array, ops.grads[i] as Float32Array];
      let worst = 0;
      let scale = 0;
      b.forEach((v, j) => {
        worst = Math.max(worst, Math.abs((a[j] as number) - v));
        scale = Math.max(scale, Math.abs(v));
      });
      expect(scale, `${p.key} has a gradient`).toBeGreaterThan(0);
      expect(worst / scale, p.key).toBeLessThan(1e-3);
    });
  });
});
