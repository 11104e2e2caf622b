// node dist/bench/loss-curve.js [--backends cpu,webgpu] [--steps 100] [--model tiny|90m] [--wasm-native on|off]
// The first steps of a bitnet-lm recipe (tiny, or the 90 M shape) (shakespeare, the recipes' training step) from the same
// seed on each backend; prints one JSON line { <backend>: [loss per step] }. The fused WGSL paths of
// the webgpu backend must follow the cpu backend's curve (test/recipe/loss-curve.test.ts).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/backend.js';
import { buildRecipeModel } from '../src/recipe/build.js';
import { loadRecipe } from '../src/recipe/load.js';
import { createTask } from '../src/recipe/tasks.js';
import { trainableParams, trainStep } from '../src/recipe/train-step.js';
import { configure, FUSED_PATHS } from '../src/settings.js';
import { Optimizer } from '../src/train/optimizer.js';

export const MODEL_SETTINGS: Record<string, string[]> = {
  tiny: [
    'model.hiddenSize=64',
    'model.intermediateSize=128',
    'model.numLayers=2',
    'model.numHeads=4',
    'model.numKvHeads=2',
    'data.contextLength=32',
    'train.batchSize=8',
  ],
  '90m': [
    'model.hiddenSize=1024',
    'model.intermediateSize=2816',
    'model.numLayers=8',
    'model.numHeads=16',
    'model.numKvHeads=4',
    'data.contextLength=256',
    'train.batchSize=16',
  ],
};

export async function lossCurve(backend: BackendName, steps: number, size = 'tiny', set: readonly string[] = []): Promise<number[]> {
  await selectBackend(backend);
  const recipe = loadRecipe('recipes/shakespeare-lm-bitnet.json', { set: [...(MODEL_SETTINGS[size] ?? []), ...set, `backend=${backend}`] });
  const { model } = await buildRecipeModel(recipe, () => {});
  const task = createTask(recipe, undefined);
  const params = trainableParams(model);
  const optimizer = new Optimizer(recipe.train.optimizer);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    losses.push(await trainStep(model, params, optimizer, task, task.batch(step), { lr: 3e-3, weightDecay: 0.1, gradClip: 1 }));
  }
  optimizer.dispose();
  model.dispose();
  return losses;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  tf.enableProdMode();
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'cpu,webgpu' },
      steps: { type: 'string', default: '100' },
      model: { type: 'string', default: 'tiny' },
      set: { type: 'string', multiple: true, default: [] },
      // off: wasm runs tfjs-wasm's own BatchMatMul and AdamW, not the native addon's (src/kernels/native/wasm-*.ts)
      'wasm-native': { type: 'string', default: 'on' },
    },
  });
  const out: Record<string, number[]> = {};
  for (const backend of values.backends.split(',')) {
    configure({ unfused: backend === 'wasm' && values['wasm-native'] === 'off' ? [...FUSED_PATHS] : [] });
    out[backend] = await lossCurve(backend as BackendName, Number(values.steps), values.model, values.set);
  }
  console.log(JSON.stringify(out));
  // Dawn keeps the process alive
  process.exit(0);
}
