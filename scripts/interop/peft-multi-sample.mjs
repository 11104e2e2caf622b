// Writes a multi-adapter save made here (a LoRA with modules_to_save, a second LoRA of other
// targets and rank in a subfolder, a DoRA one), the base weights and each adapter's outputs, for
// scripts/interop/peft_multi_check.py to load with HuggingFace peft. Run after `npm run build`:
//   node scripts/interop/peft-multi-sample.mjs /tmp/peft-multi && /tmp/ref/bin/python scripts/interop/peft_multi_check.py /tmp/peft-multi
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getPeftModel, selectBackend, serializeSafetensors, kernelToTorch } from '../../dist/src/index.js';

const dir = process.argv[2] ?? '/tmp/peft-multi';
await selectBackend('cpu');
const base = tf.sequential();
base.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [12], name: 'fc1' }));
base.add(tf.layers.dense({ units: 8, name: 'fc2' }));
base.add(tf.layers.dense({ units: 4, name: 'head' }));
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
const tensors = {};
for (const layer of base.layers) {
  const [kernel, bias] = layer.getWeights();
  const [inDim, outDim] = kernel.shape;
  tensors[`${layer.name}.weight`] = { dtype: 'F32', shape: [outDim, inDim], data: kernelToTorch(kernel.dataSync(), inDim, outDim) };
  tensors[`${layer.name}.bias`] = { dtype: 'F32', shape: [outDim], data: bias.dataSync() };
}
await writeFile(join(dir, 'base.safetensors'), serializeSafetensors(tensors));
await writeFile(join(dir, 'io.json'), JSON.stringify({ x: Array.from(x.dataSync()), outputs }));
console.log(`wrote ${dir}: adapters default (top), second/, dora/`);
