// node dist/bench/step-parity.js --out DIR [--model tiny|small|90m] [--steps 5] [--backend cpu]
// The recipes' training step, replayable in PyTorch: writes the initial weights (DIR/init.safetensors,
// tfjs names and layouts), the batches and every step's loss (DIR/steps.json), and the weights after
// the last step (DIR/final.safetensors), and the first batch's gradient at the initial weights
// (DIR/grads0.safetensors). bench/peer/lm_step_parity.py loads the same weights into the
// PyTorch twin, runs the same batches and compares losses and weights: any difference in the model
// or the optimizer between the two shows up there, step by step, without seed noise.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/backend.js';
import { writeSafetensors, type SafetensorsInput } from '../src/formats/safetensors/writer.js';
import { buildRecipeModel } from '../src/recipe/build.js';
import { loadRecipe } from '../src/recipe/load.js';
import { createTask } from '../src/recipe/tasks.js';
import { batchGradients, trainableParams, trainStep } from '../src/recipe/train-step.js';
import type { Param } from '../src/train/optimizer.js';
import { Optimizer } from '../src/train/optimizer.js';
import { MODEL_SETTINGS } from './loss-curve.js';

async function weights(params: readonly Param[]): Promise<Record<string, SafetensorsInput>> {
  const out: Record<string, SafetensorsInput> = {};
  for (const p of params) out[p.key] = { dtype: 'F32', shape: p.variable.shape, data: await p.variable.data() };
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      model: { type: 'string', default: 'tiny' },
      steps: { type: 'string', default: '5' },
      backend: { type: 'string', default: 'cpu' },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const dir = values.out ?? 'step-parity';
  mkdirSync(dir, { recursive: true });
  const backend = values.backend as BackendName;
  await selectBackend(backend);
  const recipe = loadRecipe('recipes/shakespeare-lm-bitnet.json', { set: [...(MODEL_SETTINGS[values.model] ?? []), ...values.set, `backend=${backend}`] });
  const { model } = await buildRecipeModel(recipe, () => {});
  const task = createTask(recipe, undefined);
  const params = trainableParams(model);
  const optimizer = new Optimizer(recipe.train.optimizer);
  await writeSafetensors(join(dir, 'init.safetensors'), await weights(params));
  {
    // the gradient of the first batch at the initial weights (before any step)
    const batch = task.batch(0);
    const { grads } = await batchGradients(model, params, task, batch);
    const out: Record<string, SafetensorsInput> = {};
    params.forEach((p, i) => (out[p.key] = { dtype: 'F32', shape: p.variable.shape, data: grads[i] as Float32Array }));
    await writeSafetensors(join(dir, 'grads0.safetensors'), out);
    tf.dispose([batch.x, batch.labels]);
  }
  const step = { lr: 3e-3, weightDecay: 0.1, gradClip: 1 };
  const steps: { tokens: number[]; labels: number[]; loss: number }[] = [];
  for (let s = 0; s < Number(values.steps); s++) {
    const batch = task.batch(s);
    const tokens = Array.from(await batch.x.data());
    const labels = Array.from(await batch.labels.data());
    const loss = await trainStep(model, params, optimizer, task, batch, step);
    steps.push({ tokens, labels, loss });
  }
  await writeSafetensors(join(dir, 'final.safetensors'), await weights(params));
  const m = recipe.model as { hiddenSize: number; intermediateSize: number; numLayers: number; numHeads: number; numKvHeads: number };
  const shape = { hidden: m.hiddenSize, ffn: m.intermediateSize, layers: m.numLayers, heads: m.numHeads, kv: m.numKvHeads };
  const batchShape = [recipe.train.batchSize, recipe.data.type === 'text' ? recipe.data.contextLength : 0];
  writeFileSync(join(dir, 'steps.json'), JSON.stringify({ backend, shape, batchShape, ...step, steps }));
  console.log(JSON.stringify({ dir, losses: steps.map((s) => s.loss) }));
  process.exit(0);
}
