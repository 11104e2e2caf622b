// Writes a multi-adapter save made here (a LoRA with modules_to_save, a second LoRA of other
// targets and rank in a subfolder, a DoRA one), the base weights and each adapter's outputs, for
// scripts/interop/peft_multi_check.py to load with HuggingFace peft. Run after `npm run build`:
//   node scripts/interop/peft-multi-sample.mjs /tmp/peft-multi && /tmp/ref/bin/python scripts/interop/peft_multi_check.py /tmp/peft-multi
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getPeftModel, selectBackend } from '../../dist/src/index.js';
import { denseBase, writeBaseSafetensors } from './peft-base.mjs';

const dir = process.argv[2] ?? '/tmp/peft-multi';
await selectBackend('cpu');
const base = denseBase();
const x = tf.randomNormal([5, 12], 0, 1, 'float32', 1);
const y = tf.randomNormal([5, 4], 0, 1, 'float32', 2);
const train = async (model) => {
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  await model.fit(x, y, { epochs: 5, verbose: 0 });
};
const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 4, loraAlpha: 8, modulesToSave: ['head'] });
await train(peft.model);
const schema = peft.method.schema;
peft.addAdapter('second', schema.parse({ peftType: 'LORA', targetModules: ['fc2'], r: 2, loraAlpha: 4 }));
peft.addAdapter('dora', schema.parse({ peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 4, loraAlpha: 8, useDora: true }));
const outputs = {};
for (const name of ['second', 'dora', 'default']) {
  peft.setAdapter(name);
  if (name !== 'default') await train(peft.model);
  outputs[name] = Array.from(peft.model.predict(x).dataSync());
}
peft.disableAdapter();
outputs.base = Array.from(peft.model.predict(x).dataSync());
peft.enable();
await mkdir(dir, { recursive: true });
await peft.save(join(dir, 'adapters'));
await writeBaseSafetensors(base, join(dir, 'base.safetensors'));
await writeFile(join(dir, 'io.json'), JSON.stringify({ x: Array.from(x.dataSync()), outputs }));
console.log(`wrote ${dir}: adapters default (top), second/, dora/`);
