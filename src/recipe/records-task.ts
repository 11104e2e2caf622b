import { exampleWindows, WindowBatches, type WindowPlan } from '../data/example-batches.js';
import type { ExampleFormat } from '../data/examples.js';
import type { LmTokenizer } from '../data/lm-tokenizer.js';
import { cachedTokens, tokenizeInMemory } from '../data/token-cache.js';
import type { TokenStore } from '../data/token-store.js';
import { BitNetError } from '../errors.js';
import { lmMetrics, maskedCrossEntropy, modelLogits, scoreWindows } from '../eval/lm-score.js';
import type { RecordsData, TrainConfig } from './schema.js';
import type { TrainTask } from './tasks.js';

const files = (value: string | readonly string[]): string[] => (typeof value === 'string' ? [value] : [...value]);

export function exampleFormatOf(d: RecordsData): ExampleFormat {
  return {
    format: d.format,
    textField: d.textField,
    promptField: d.promptField,
    completionField: d.completionField,
    messagesField: d.messagesField,
    trainOn: d.trainOn,
    addEos: d.addEos,
    maxLength: d.maxLength ?? (d.packing ? undefined : d.contextLength + 1),
  };
}

async function tokens(paths: string[], d: RecordsData, tokenizer: LmTokenizer, info: (m: string) => void): Promise<TokenStore> {
  const format = exampleFormatOf(d);
  if (!d.cache) return tokenizeInMemory(paths, d.type, format, tokenizer);
  const cached = await cachedTokens(paths, d.type, format, tokenizer);
  info(
    `${cached.reused ? 'read the tokenized data from' : 'tokenized the data into'} ${cached.dir} (${cached.store.examples} examples, ${cached.store.tokens} tokens)`,
  );
  return cached.store;
}

/** JSONL / Parquet records as a language-model task: masked targets, packed or padded windows. */
export async function recordsTask(d: RecordsData, t: TrainConfig, tokenizer: LmTokenizer, info: (m: string) => void): Promise<TrainTask> {
  const train = await tokens(files(d.path), d, tokenizer, info);
  const validation = d.validation === undefined ? train : await tokens(files(d.validation), d, tokenizer, info);
  const held = d.validation === undefined ? Math.max(1, Math.ceil(train.examples * d.validationFraction)) : 0;
  if (train.examples - held < 1) {
    throw new BitNetError('INVALID_DATA', `${train.examples} examples leave none to train on after the validation share`, { field: 'data.validationFraction' });
  }
  const plan: WindowPlan = { contextLength: d.contextLength, packing: d.packing ? 'packed' : 'padded', padId: tokenizer.pad };
  const batches = new WindowBatches(exampleWindows(train, 0, train.examples - held, plan), d.contextLength, t.batchSize, t.seed);
  const valWindows =
    d.validation === undefined ? exampleWindows(train, train.examples - held, train.examples, plan) : exampleWindows(validation, 0, validation.examples, plan);
  if (valWindows.count === 0) {
    throw new BitNetError('INVALID_DATA', 'the validation examples make no window of contextLength + 1 tokens', {
      field: d.validation === undefined ? 'data.validationFraction' : 'data.validation',
    });
  }
  const per = Math.max(1, Math.floor(8192 / d.contextLength));
  return {
    stepsPerEpoch: batches.stepsPerEpoch,
    unitsPerBatch: t.batchSize * d.contextLength,
    epochOf: (s) => batches.epochOf(s),
    batch: (s) => batches.batch(s),
    loss: maskedCrossEntropy,
    evaluate: async (model) =>
      lmMetrics(
        await scoreWindows(modelLogits(model), valWindows, {
          batch: per,
          limit: Math.ceil(d.evalTokens / d.contextLength),
          bytesOf: (ids) => tokenizer.bytesOf(ids),
        }),
      ),
    close: () => {
      train.close();
      if (validation !== train) validation.close();
    },
  };
}
