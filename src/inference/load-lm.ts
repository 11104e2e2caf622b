import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { loadBitnetGguf } from '../formats/gguf/bitnet-load.js';
import { loadModel } from '../formats/tfjs-fs.js';
import { lmWeightsOf } from '../models/bitnet-lm.js';
import type { BitnetLmWeights } from '../models/bitnet-weights.js';

/** LM weights from a .gguf file, a run folder (its final/ model) or a saved model folder. */
export async function loadLmWeights(source: string): Promise<BitnetLmWeights> {
  if (source.endsWith('.gguf')) return loadBitnetGguf(source);
  const modelDir = existsSync(join(source, 'model.json')) ? source : join(source, 'final');
  if (!existsSync(join(modelDir, 'model.json'))) {
    throw new BitNetError('FILE_NOT_FOUND', `no model at ${source}`, { field: 'source', hint: 'a .gguf file, a run folder with final/, or a model folder' });
  }
  const recipePath = [join(source, 'recipe.json'), join(modelDir, '..', 'recipe.json')].find((p) => existsSync(p));
  const context = recipePath === undefined ? 2048 : ((JSON.parse(readFileSync(recipePath, 'utf8')) as { data?: { contextLength?: number } }).data?.contextLength ?? 2048);
  const model = await loadModel(modelDir);
  if (!model.layers.some((l) => l.name === 'token_embd')) {
    throw new BitNetError('UNSUPPORTED', `${modelDir} is not a BitNet language model`, { field: 'source' });
  }
  const weights = lmWeightsOf(model, context);
  model.dispose();
  return weights;
}
