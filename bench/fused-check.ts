// node dist/bench/fused-check.js [--model 90m|small] [--backend webgpu] [--unfused adamw,matmul,...]
// One batch through a bitnet-lm, once with every fused WGSL path and once with the listed paths off
// (all of them by default); prints per parameter the largest gradient difference relative to the
// largest gradient, and the two losses. test/recipe/fused-gradients.test.ts does this on llvmpipe;
// this runs it at the 90 M shape on the real card, where races that llvmpipe hides would show.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendName } from '../src/backend.js';
import { buildRecipeModel } from '../src/recipe/build.js';
import { loadRecipe } from '../src/recipe/load.js';
import { createTask } from '../src/recipe/tasks.js';
import { batchGradients, trainableParams } from '../src/recipe/train-step.js';
import { FUSED_PATHS, configure, type FusedPath } from '../src/settings.js';
import { MODEL_SETTINGS } from './loss-curve.js';

interface Pass {
  loss: number;
  grads: Float32Array[];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: '90m' },
      backend: { type: 'string', default: 'webgpu' },
      unfused: { type: 'string', default: FUSED_PATHS.join(',') },
      batch: { type: 'string', default: '3' },
    },
  });
  const backend = values.backend as BackendName;
  await selectBackend(backend);
  const recipe = loadRecipe('recipes/shakespeare-lm-bitnet.json', { set: [...(MODEL_SETTINGS[values.model] ?? []), `backend=${backend}`] });
  const { model } = await buildRecipeModel(recipe, () => {});
  const task = createTask(recipe, undefined);
  const params = trainableParams(model);
  const { x, labels } = task.batch(Number(values.batch));
  const run = async (unfused: FusedPath[]): Promise<Pass> => {
    configure({ unfused });
    return batchGradients(model, params, task, { x, labels });
  };
  const fused = await run([]);
  const again = await run([]);
  const ops = await run(values.unfused.split(',').filter(Boolean) as FusedPath[]);
  const relative = (a: Float32Array, b: Float32Array): number => {
    let worst = 0;
    let scale = 0;
    b.forEach((v, j) => {
      worst = Math.max(worst, Math.abs((a[j] as number) - v));
      scale = Math.max(scale, Math.abs(v));
    });
    return worst / scale;
  };
  const rows = params.map((p, i) => ({
    param: p.key,
    fusedVsOps: relative(fused.grads[i] as Float32Array, ops.grads[i] as Float32Array),
    fusedRerun: relative(fused.grads[i] as Float32Array, again.grads[i] as Float32Array),
  }));
  console.log(JSON.stringify({ model: values.model, unfused: values.unfused, loss: { fused: fused.loss, rerun: again.loss, ops: ops.loss }, rows }));
  process.exit(0);
}
