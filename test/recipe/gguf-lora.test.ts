// Issue #17: a recipe fine-tunes LoRA on a deployed ternary model, `model: { type: 'gguf' }`:
// the GGUF's ternary weights become merged (integer) BitLinear layers that stay frozen, the
// adapter trains, and the training loss on Shakespeare falls.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { buildRecipeModel } from '../../src/recipe/build.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { createTask } from '../../src/recipe/tasks.js';
import { trainableParams, trainStep } from '../../src/recipe/train-step.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { type tf, useBackend } from '../helpers/tf.js';
import { TINY_LM_CONFIG } from '../helpers/tiny-lm.js';

describe("a recipe with model type 'gguf' and a LoRA adapter", () => {
  beforeAll(() => useBackend('wasm'));

  it('builds frozen integer layers under the adapter, and the loss falls', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bitnet-recipe-gguf-')), 'base.gguf');
    const weights = randomBitnetWeights({ ...TINY_LM_CONFIG, numLayers: 1, vocabSize: 257 }, 3, { weightStd: 1, embeddingStd: 0.1 });
    await writeBitnetGguf(path, weights, new ByteTokenizer().ggufVocabulary(), { type: 'tq2_0' });
    const recipe = loadRecipe('recipes/shakespeare-lm-bitnet.json', {
      set: [
        `model={"type":"gguf","path":"${path}"}`,
        'adapters=[{"type":"lora","targetModules":"all-linear","r":8,"loraAlpha":16}]',
        'backend=wasm',
        'train.batchSize=4',
        'data.contextLength=32',
      ],
    });
    const { model, adapters } = await buildRecipeModel(recipe, () => {});
    const base = model.layers.map((l) => (l as { base?: tf.layers.Layer }).base).filter((l): l is BitLinear => l instanceof BitLinear);
    expect(base).toHaveLength(7);
    expect(base.every((l) => l.merged)).toBe(true);
    // the adapter knows its base (adapter_config.json's base_model_name_or_path)
    expect(adapters[0]?.config.baseModelNameOrPath).toBe(path);
    const params = trainableParams(model);
    expect(params.map((p) => p.key).every((k) => /lora_[AB]/.test(k))).toBe(true);
    expect(params).toHaveLength(14);
    const task = createTask(recipe, undefined);
    const optimizer = new Optimizer(recipe.train.optimizer);
    const losses: number[] = [];
    for (let step = 0; step < 12; step++)
      losses.push(await trainStep(model, params, optimizer, task, task.batch(step), { lr: 1e-2, weightDecay: 0, gradClip: 1 }));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-3))).toBeLessThan(0.9 * mean(losses.slice(0, 3)));
    optimizer.dispose();
    for (const peft of adapters) peft.dispose();
  });
});
