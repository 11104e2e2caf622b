import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { benchGenerate } from './generate.js';
import { benchKernels } from './kernels.js';
import { benchKernelsVsLlama } from './kernels-llama.js';
import { benchQuant } from './quant.js';
import { benchTrainStep } from './train-step.js';

const BENCHES: Record<string, () => Promise<void>> = {
  quant: benchQuant,
  'train-step': benchTrainStep,
  kernels: benchKernels,
  'kernels-llama': benchKernelsVsLlama,
  generate: benchGenerate,
};

export async function runBenches(names: readonly string[]): Promise<void> {
  tf.enableProdMode();
  for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
    const bench = BENCHES[name];
    if (bench === undefined) throw new Error(`unknown bench '${name}'; one of ${Object.keys(BENCHES).join(', ')}`);
    await bench();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBenches(process.argv.slice(2));
