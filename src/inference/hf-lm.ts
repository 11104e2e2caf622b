import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { fromPretrained } from '../formats/hf-pretrained.js';
import { loadModel } from '../formats/tfjs-fs.js';
import type { LlamaConfig } from '../models/llama/config.js';
import { llamaConfigOf } from '../models/llama/weights.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { readJsonObject } from '../util/json-file.js';

/** A model of the Llama family with the folder it came from (config.json, tokenizer.json). */
export interface HfLanguageModel {
  model: tf.LayersModel;
  config: LlamaConfig;
  /** The HF folder whose config.json and tokenizer files go with the model. */
  sourceDir: string;
  tokenizer: HfTokenizer;
  /** 'hf': the checkpoint as it is (full precision, or latent QAT weights); 'run': a trained run's final model. */
  origin: 'hf' | 'run';
}

/** Whether `source` is a HuggingFace model folder. */
export function isHfDir(source: string): boolean {
  return existsSync(join(source, 'config.json'));
}

/** The source folder of a run of an hf recipe (recipe.json's model.path), or undefined for other runs. */
export function hfRunSource(run: string): string | undefined {
  const recipePath = join(run, 'recipe.json');
  if (!existsSync(recipePath)) return undefined;
  const recipe = readJsonObject(recipePath) as { model?: { type?: string; path?: string } };
  return recipe.model?.type === 'hf' && typeof recipe.model.path === 'string' ? resolve(recipe.model.path) : undefined;
}

/** An HF folder (through fromPretrained) or a run of an hf recipe (its final/ model; the recipe's model.path for config and tokenizer). */
export async function loadHfLanguageModel(source: string): Promise<HfLanguageModel> {
  if (isHfDir(source)) {
    // the tokenizer first: a folder without one fails before its weights are read
    const tokenizer = HfTokenizer.fromDir(source);
    const { model, config } = await fromPretrained(source, { tokenizer: false });
    return { model, config, sourceDir: source, tokenizer, origin: 'hf' };
  }
  const sourceDir = hfRunSource(source);
  if (sourceDir === undefined) {
    throw new BitNetError('UNSUPPORTED', `${source} is neither a HuggingFace model folder nor a run of an hf recipe`, {
      field: 'source',
      hint: 'give a folder with config.json, or a run folder whose recipe has model.type "hf"',
    });
  }
  if (!existsSync(join(source, 'final', 'model.json'))) {
    throw new BitNetError('FILE_NOT_FOUND', `run ${source} has no final model yet`, { field: 'source', hint: 'finish (or resume) the run first' });
  }
  const tokenizer = HfTokenizer.fromDir(sourceDir);
  const model = await loadModel(join(source, 'final'));
  return { model, config: llamaConfigOf(model), sourceDir, tokenizer, origin: 'run' };
}
