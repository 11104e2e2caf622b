import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { injectAdapter, type DynamicPeftConfig } from '../adapter/peft.js';
import type { PeftModel } from '../adapter/peft-model.js';
import { BitNetError } from '../errors.js';
import { guardedBuild } from '../nn/guarded-build.js';
import { loadModel } from '../formats/tfjs-fs.js';
import { buildBitnetLm, lmModelFromWeights } from '../models/bitnet/tfjs.js';
import { loadBitnetGguf } from '../formats/gguf/bitnet-read.js';
import { buildMlp } from '../models/mlp.js';
import { fromPretrained } from '../formats/hf-pretrained.js';
import type { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer.js';
import type { AdapterEntry, Recipe } from './schema.js';

export interface BuiltModel {
  model: tf.LayersModel;
  adapters: PeftModel[];
  /** An hf model's tokenizer.json (what data.tokenizer 'model' reads text with). */
  tokenizer?: HfTokenizer;
}

function modelDir(path: string): string {
  return path.endsWith('model.json') ? path.slice(0, -'model.json'.length) : path;
}

export function pretrainedExists(path: string): boolean {
  return existsSync(join(modelDir(path), 'model.json'));
}

/** An adapter entry as a config; base_model_name_or_path is the model the recipe loads, when it names one. */
function adapterConfig(entry: AdapterEntry, model: Recipe['model']): DynamicPeftConfig {
  const { type, ...rest } = entry;
  const base = 'path' in model ? { baseModelNameOrPath: model.path } : {};
  return { peftType: type.toUpperCase(), ...base, ...rest };
}

/** The model a recipe trains: built or loaded, then each adapter injected in order. */
/** Builds a model whose sizes come from a recipe: sizes too large to allocate are the recipe's error. */
async function withinMemory(build: () => tf.LayersModel): Promise<tf.LayersModel> {
  try {
    return await guardedBuild({}, build);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new BitNetError('INVALID_CONFIG', `the recipe's model is too large to allocate: ${cause.message}`, {
      field: 'model',
      cause,
      hint: 'lower the model sizes (hidden, hiddenSize, intermediateSize, numLayers)',
    });
  }
}

export async function buildRecipeModel(recipe: Recipe, warn: (message: string) => void): Promise<BuiltModel> {
  let model: tf.LayersModel;
  let tokenizer: HfTokenizer | undefined;
  if (recipe.model.type === 'mlp') {
    if (recipe.data.type !== 'mnist') {
      throw new BitNetError('INVALID_CONFIG', 'an mlp model trains on mnist data', { field: 'data.type', hint: 'use data.type "mnist"' });
    }
    const { hidden, layer, bitnet } = recipe.model;
    const inputSize = (28 + 2 * recipe.data.padding) ** 2;
    model = await withinMemory(() => buildMlp({ inputSize, hidden, outputs: 10, layer, bitnet, seed: recipe.train.seed, softmax: false }));
  } else if (recipe.model.type === 'bitnet-lm') {
    if (recipe.data.type === 'mnist') {
      throw new BitNetError('INVALID_CONFIG', 'a bitnet-lm model trains on text data', {
        field: 'data.type',
        hint: 'use data.type "text", "jsonl" or "parquet"',
      });
    }
    const { type: _type, bitnet, ...shape } = recipe.model;
    const contextLength = recipe.data.contextLength;
    model = await withinMemory(() => buildBitnetLm({ ...shape, vocabSize: new ByteTokenizer().vocabSize, contextLength, bitnet, seed: recipe.train.seed }));
  } else if (recipe.model.type === 'hf') {
    const pretrained = await fromPretrained(recipe.model.path, { weights: recipe.model.weights, subLn: recipe.model.subLn });
    model = pretrained.model;
    tokenizer = pretrained.tokenizer;
    if (tokenizer === undefined && recipe.data.type !== 'mnist') {
      model.dispose();
      throw new BitNetError('FILE_NOT_FOUND', `${recipe.model.path} has no tokenizer.json`, {
        field: 'model.path',
        hint: "data.tokenizer 'model' reads the text with the model folder's tokenizer.json",
      });
    }
  } else if (recipe.model.type === 'gguf') {
    if (recipe.data.type === 'mnist') {
      throw new BitNetError('INVALID_CONFIG', 'a GGUF language model trains on text data', {
        field: 'data.type',
        hint: 'use data.type "text", "jsonl" or "parquet"',
      });
    }
    model = lmModelFromWeights(await loadBitnetGguf(recipe.model.path));
  } else {
    model = await loadModel(modelDir(recipe.model.path));
  }
  const adapters: PeftModel[] = [];
  recipe.adapters.forEach((entry, i) => {
    try {
      const peft = injectAdapter(model, adapterConfig(entry, recipe.model), { warn });
      adapters.push(peft);
      // the adapter rebuilt the model with copies of its weights: the base is no longer needed
      model.dispose();
      model = peft.model;
    } catch (error) {
      for (const built of adapters) built.dispose();
      if (adapters.length === 0) model.dispose();
      if (error instanceof BitNetError && error.code === 'INVALID_CONFIG') {
        throw new BitNetError(error.code, `adapters[${i}]: ${error.message}`, {
          field: `adapters[${i}].${error.field ?? 'targetModules'}`,
          hint: error.hint,
          cause: error,
        });
      }
      throw error;
    }
  });
  return { model, adapters, ...(tokenizer === undefined ? {} : { tokenizer }) };
}

/**
 * Builds the recipe's model and injects its adapters, then frees them: what `validate` runs to
 * catch targets that match nothing. Skipped when the model comes from a fallback recipe not run yet.
 */
export async function checkRecipeModel(recipe: Recipe): Promise<void> {
  if (recipe.model.type === 'tfjs' && !pretrainedExists(recipe.model.path)) return;
  const { model, adapters } = await buildRecipeModel(recipe, () => {});
  for (const peft of adapters) peft.dispose();
  if (adapters.length === 0) model.dispose();
}
