import * as tf from '@tensorflow/tfjs';
import { benchKernels } from './kernels.js';
import { benchQuant } from './quant.js';
import { benchTrainStep } from './train-step.js';

const BENCHES: Record<string, () => Promise<void>> = {
  quant: benchQuant,
  'train-step': benchTrainStep,
  kernels: benchKernels,
};

tf.enableProdMode();
const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  const bench = BENCHES[name];
  if (bench === undefined) {
    console.error(`unknown bench '${name}'; one of ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  await bench();
}
