import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { loadBitnetGguf, type GgufLoadOptions } from '../formats/gguf/bitnet-read.js';
import { loadModel } from '../formats/tfjs-fs.js';
import { lmWeightsOf } from '../models/bitnet/tfjs.js';
import type { BitnetLmWeights } from '../models/bitnet/weights.js';

/** LM weights from a .gguf file (`options`: how it is held), a run folder (its final/ model) or a saved model folder. */
export async function loadLmWeights(source: string, options: GgufLoadOptions = {}): Promise<BitnetLmWeights> {
  if (source.endsWith('.gguf')) return loadBitnetGguf(source, options);
  const modelDir = existsSync(join(source, 'model.json')) ? source : join(source, 'final');
  if (!existsSync(join(modelDir, 'model.json'))) {
    throw new BitNetError('FILE_NOT_FOUND', `no model at ${source}`, { field: 'source', hint: 'a .gguf file, a run folder with final/, or a model folder' });
  }
  const model = await loadModel(modelDir);
  try {
    return lmWeightsOf(model);
  } finally {
    model.dispose();
  }
}
