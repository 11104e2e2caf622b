// Writes a LoRA adapter trained here, the base weights and reference outputs to a folder, for
// scripts/interop/peft_load_check.py to load with HuggingFace peft. Run after `npm run build`:
//   node scripts/interop/peft-sample.mjs /tmp/peft-sample && /tmp/ref/bin/python scripts/interop/peft_load_check.py /tmp/peft-sample
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getPeftModel, selectBackend } from '../../dist/src/index.js';
import { denseBase, writeBaseSafetensors } from './peft-base.mjs';

const dir = process.argv[2] ?? '/tmp/peft-sample';
await selectBackend('cpu');
const base = denseBase();
const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 4, loraAlpha: 8, modulesToSave: ['head'] });
peft.model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
const x = tf.randomNormal([5, 12], 0, 1, 'float32', 1);
await peft.model.fit(x, tf.randomNormal([5, 4], 0, 1, 'float32', 2), { epochs: 5, verbose: 0 });
await mkdir(dir, { recursive: true });
await peft.save(join(dir, 'adapter'));
await writeBaseSafetensors(base, join(dir, 'base.safetensors'));
const y = peft.model.predict(x);
await writeFile(join(dir, 'io.json'), JSON.stringify({ x: Array.from(x.dataSync()), y: Array.from(y.dataSync()) }));
console.log(`wrote ${dir}`);
