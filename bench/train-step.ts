import * as tf from '@tensorflow/tfjs';
import { selectBackend, type ConcreteBackend } from '../src/backend.js';
import { buildMlp } from '../src/models/mlp.js';
import { formatMarkdownTable, formatTable } from '../src/report/table.js';
import { machine, writeResult } from './lib.js';

const BATCH = 128;

async function stepTime(layer: 'dense' | 'bitlinear'): Promise<number> {
  const model = buildMlp({ inputSize: 784, hidden: [256, 256], outputs: 10, layer, seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([BATCH, 784], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 2), 10).toFloat();
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 10 || performance.now() - start < 2000) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    samples.push(performance.now() - t0);
  }
  tf.dispose([x, y]);
  model.dispose();
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

export async function benchTrainStep(): Promise<void> {
  const results: { backend: ConcreteBackend; denseMs: number; bitLinearMs: number; ratio: number }[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    const denseMs = await stepTime('dense');
    const bitLinearMs = await stepTime('bitlinear');
    results.push({ backend, denseMs, bitLinearMs, ratio: bitLinearMs / denseMs });
  }
  const header = ['backend', 'Dense step ms', 'BitLinear step ms', 'BitLinear / Dense'];
  const rows = results.map((r) => [r.backend, r.denseMs.toFixed(1), r.bitLinearMs.toFixed(1), r.ratio.toFixed(2)]);
  console.log(`\nOne training step, MLP 784-256-256-10, batch ${BATCH} (adam, model.trainOnBatch, median)`);
  console.log(formatTable([header, ...rows]));
  const json = { bench: 'train-step', model: '784-256-256-10', batch: BATCH, machine: machine(), date: new Date().toISOString(), results };
  await writeResult('train-step.json', `${JSON.stringify(json, null, 2)}\n`);
  await writeResult(
    'train-step.md',
    `# Training step: BitLinear vs Dense\n\nMLP 784-256-256-10, batch ${BATCH}.\n\n${formatMarkdownTable([header, ...rows])}\n`,
  );
}
