// The base both peft samples adapt (test/adapter/models.ts denseMlp(); scripts/interop/peft_mlp.py in
// PyTorch), and its weights as the PyTorch state dict the Python side loads. Run after `npm run build`.
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { layerStateDict, serializeSafetensors } from '../../dist/src/index.js';

export function denseBase() {
  const base = tf.sequential();
  base.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [12], name: 'fc1' }));
  base.add(tf.layers.dense({ units: 8, name: 'fc2' }));
  base.add(tf.layers.dense({ units: 4, name: 'head' }));
  return base;
}

/** fc1.weight [out, in], fc1.bias, ... as safetensors. */
export async function writeBaseSafetensors(base, path) {
  const tensors = Object.assign({}, ...base.layers.map((layer) => layerStateDict(layer, `${layer.name}.`)));
  await writeFile(path, serializeSafetensors(tensors));
}
