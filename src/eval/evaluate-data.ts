import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { exampleWindows } from '../data/example-batches.js';
import type { ExampleFormat } from '../data/examples.js';
import { readRecords, type RecordFormat } from '../data/records.js';
import { tokenizeInMemory } from '../data/token-cache.js';
import { BitNetError } from '../errors.js';
import type { EvalSource } from './eval-source.js';
import { lmMetrics, scoreWindows, strideWindows, type LmMetrics } from './lm-score.js';
import { choiceItem, multipleChoice, type ChoiceItem, type ChoiceMetrics } from './multiple-choice.js';

export interface EvalOptions {
  /** Window length in tokens (default: the smaller of 256 and the model's context). */
  contextLength?: number | undefined;
  /** Where the evaluation starts, as a fraction of a text file's ids or of the records (0.9: the last 10 %). */
  from: number;
  /** Records: 'completion' scores completion / assistant tokens only. */
  trainOn: 'completion' | 'all';
  /** Score at most this many windows (or multiple-choice items). */
  limit?: number | undefined;
}

export type EvalResult = ({ task: 'language-model'; windows: number; contextLength: number } & LmMetrics) | ({ task: 'multiple-choice' } & ChoiceMetrics);

type DetectedFormat = ExampleFormat['format'] | 'multiple-choice';

async function detectFormat(file: string, kind: RecordFormat): Promise<DetectedFormat> {
  for await (const record of readRecords([file], kind)) {
    const keys = Object.keys(record.value);
    if (keys.includes('choices')) return 'multiple-choice';
    if (keys.includes('messages')) return 'messages';
    if (keys.includes('prompt') && keys.includes('completion')) return 'prompt-completion';
    if (keys.includes('text')) return 'text';
    throw new BitNetError('INVALID_DATA', `${file}: the first record has none of messages, prompt/completion, text or context/choices/gold`, { field: 'data' });
  }
  throw new BitNetError('INVALID_DATA', `${file} holds no records`, { field: 'data' });
}

/**
 * Evaluates a language model on a data file: a .txt file as one text (the ids from `from` on, in
 * non-overlapping windows scored as transformers' labels = input_ids), a JSONL/Parquet file by its
 * records (language-model metrics on text, prompt-completion or messages; acc / acc_norm on
 * context/choices/gold).
 */
export async function evaluateData(source: EvalSource, file: string, options: EvalOptions): Promise<EvalResult> {
  const t = Math.min(options.contextLength ?? 256, source.contextLength);
  const bytesOf = (ids: readonly number[]): number => source.tokenizer.bytesOf(ids);
  if (extname(file) === '.txt') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new BitNetError('FILE_NOT_FOUND', `cannot read ${file}`, { field: 'data', cause });
    }
    const ids = Int32Array.from(source.tokenizer.encode(text));
    const windows = strideWindows(ids.subarray(Math.floor(options.from * ids.length)), t);
    const totals = await scoreWindows(source.logits, windows, { batch: Math.max(1, Math.floor(4096 / t)), limit: options.limit, bytesOf });
    return { task: 'language-model', windows: Math.min(windows.count, options.limit ?? windows.count), contextLength: t, ...lmMetrics(totals) };
  }
  const kind: RecordFormat = extname(file) === '.parquet' ? 'parquet' : 'jsonl';
  const format = await detectFormat(file, kind);
  if (format === 'multiple-choice') {
    const items: ChoiceItem[] = [];
    for await (const record of readRecords([file], kind)) {
      if (options.limit !== undefined && items.length >= options.limit) break;
      items.push(choiceItem(record));
    }
    const eot = source.tokenizer.eos ?? 0;
    return { task: 'multiple-choice', ...(await multipleChoice(source.logits, items, (s) => source.tokenizer.encode(s), eot, t)) };
  }
  const store = await tokenizeInMemory(
    [file],
    kind,
    {
      format,
      textField: 'text',
      promptField: 'prompt',
      completionField: 'completion',
      messagesField: 'messages',
      trainOn: options.trainOn,
      addEos: true,
      maxLength: t + 1,
    },
    source.tokenizer,
  );
  const first = Math.floor(options.from * store.examples);
  const windows = exampleWindows(store, first, store.examples, { contextLength: t, packing: 'padded', padId: source.tokenizer.pad });
  const totals = await scoreWindows(source.logits, windows, { batch: Math.max(1, Math.floor(4096 / t)), limit: options.limit, bytesOf });
  return { task: 'language-model', windows: Math.min(windows.count, options.limit ?? windows.count), contextLength: t, ...lmMetrics(totals) };
}
