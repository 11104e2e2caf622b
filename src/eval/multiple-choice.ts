import * as tf from '@tensorflow/tfjs';
import { badRecord, type DataRecord } from '../data/records.js';
import type { LogitsFn } from './lm-score.js';

/** A multiple-choice item: {context, choices, gold} (gold: the index of the right choice). */
export interface ChoiceItem {
  context: string;
  choices: string[];
  gold: number;
}

export interface ChoiceScores {
  /** Log-likelihood of each choice's tokens after the context. */
  logLikelihoods: number[];
  /** argmax of the log-likelihoods (the first on ties). */
  pick: number;
  /** argmax of log-likelihood / characters of the choice. */
  pickNorm: number;
}

export interface ChoiceMetrics {
  acc: number;
  accNorm: number;
  items: number;
}

export function choiceItem(record: DataRecord): ChoiceItem {
  const { context, choices, gold } = record.value;
  if (typeof context !== 'string') throw badRecord(record.place, 'context', 'must be a string');
  if (!Array.isArray(choices) || choices.length < 2 || !choices.every((c) => typeof c === 'string')) {
    throw badRecord(record.place, 'choices', 'must be a list of at least two strings');
  }
  if (typeof gold !== 'number' || !Number.isInteger(gold) || gold < 0 || gold >= choices.length) {
    throw badRecord(record.place, 'gold', `must be the index of a choice (0 to ${choices.length - 1})`);
  }
  return { context, choices: choices, gold };
}

function argmax(values: readonly number[]): number {
  let best = 0;
  values.forEach((v, i) => {
    if (v > (values[best] as number)) best = i;
  });
  return best;
}

/**
 * lm-evaluation-harness's loglikelihood request: trailing spaces of the context move to the
 * continuation; the continuation's tokens are those of encode(context + continuation) after
 * encode(context) (an empty context is the end-of-text token).
 */
export function splitRequest(
  context: string,
  continuation: string,
  encode: (text: string) => readonly number[],
  eot: number,
): { context: number[]; continuation: number[] } {
  const spaces = context.length - context.trimEnd().length;
  const ctx = spaces > 0 ? context.slice(0, -spaces) : context;
  const cont = spaces > 0 ? context.slice(-spaces) + continuation : continuation;
  if (ctx === '') return { context: [eot], continuation: [...encode(cont)] };
  const whole = encode(ctx + cont);
  const contextIds = encode(ctx);
  return { context: whole.slice(0, contextIds.length), continuation: whole.slice(contextIds.length) };
}

/** Scores one item: every choice in one padded batch, the log-probabilities of its tokens summed. */
export async function scoreChoices(
  logitsOf: LogitsFn,
  item: ChoiceItem,
  encode: (text: string) => readonly number[],
  eot: number,
  maxLength: number,
): Promise<ChoiceScores> {
  const requests = item.choices.map((c) => splitRequest(item.context, c, encode, eot));
  const inputs = requests.map((r) => [...r.context, ...r.continuation].slice(-(maxLength + 1)).slice(0, -1));
  const t = Math.max(...inputs.map((i) => i.length));
  const x = new Int32Array(inputs.length * t);
  inputs.forEach((ids, b) => x.set(ids, b * t));
  const logits = await logitsOf(x, inputs.length, t);
  const logProbs = tf.tidy(() => tf.logSoftmax(logits));
  logits.dispose();
  const data = (await logProbs.data()) as Float32Array;
  const vocab = logProbs.shape[2] as number;
  logProbs.dispose();
  const logLikelihoods = requests.map((r, b) => {
    const n = inputs[b]?.length as number;
    let ll = 0;
    r.continuation.forEach((id, j) => {
      const position = n - r.continuation.length + j;
      ll += data[(b * t + position) * vocab + id] as number;
    });
    return ll;
  });
  const norm = logLikelihoods.map((ll, i) => ll / [...(item.choices[i] as string)].length);
  return { logLikelihoods, pick: argmax(logLikelihoods), pickNorm: argmax(norm) };
}

/** acc and acc_norm (lm-evaluation-harness) over items. */
export async function multipleChoice(
  logitsOf: LogitsFn,
  items: readonly ChoiceItem[],
  encode: (text: string) => readonly number[],
  eot: number,
  maxLength: number,
): Promise<ChoiceMetrics> {
  let acc = 0;
  let accNorm = 0;
  for (const item of items) {
    const s = await scoreChoices(logitsOf, item, encode, eot, maxLength);
    if (s.pick === item.gold) acc++;
    if (s.pickNorm === item.gold) accNorm++;
  }
  return { acc: acc / Math.max(1, items.length), accNorm: accNorm / Math.max(1, items.length), items: items.length };
}
