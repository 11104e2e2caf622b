import type { ChatMessage } from '../tokenizer/hf-tokenizer.js';
import { badRecord, type DataRecord } from './records.js';

/** One tokenized example: ids and, per id, whether it is a training target (1) or context only (0). */
export interface TokenizedExample {
  ids: Int32Array;
  mask: Uint8Array;
}

/** What turns records into tokens: the model's tokenizer, with its chat template where it has one. */
export interface ExampleTokenizer {
  encode(text: string): readonly number[];
  readonly eos: number | undefined;
  /** transformers' apply_chat_template(tokenize=False); absent when the tokenizer has no template. */
  readonly applyChatTemplate?: ((messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }) => string) | undefined;
  /** Stable identity of the tokenizer (files and template), for the tokenization cache key. */
  readonly fingerprint: string;
}

export interface ExampleFormat {
  format: 'text' | 'prompt-completion' | 'messages';
  textField: string;
  promptField: string;
  completionField: string;
  messagesField: string;
  /** 'completion': loss on completion / assistant tokens only (TRL, axolotl); 'all': every token. */
  trainOn: 'completion' | 'all';
  /** Append the tokenizer's end-of-sequence token to text and completions. */
  addEos: boolean;
  /** Cut every example to at most this many tokens (from the right). */
  maxLength?: number | undefined;
}

function stringField(record: DataRecord, field: string): string {
  const value = record.value[field];
  if (typeof value !== 'string') {
    throw badRecord(record.place, field, value === undefined ? 'missing' : `must be a string, got ${JSON.stringify(value)?.slice(0, 60)}`);
  }
  return value;
}

function messagesField(record: DataRecord, field: string): ChatMessage[] {
  const value = record.value[field];
  if (!Array.isArray(value) || value.length === 0)
    throw badRecord(record.place, field, value === undefined ? 'missing' : 'must be a non-empty list of messages');
  return value.map((m: unknown, i) => {
    const message = m as Record<string, unknown> | null;
    if (typeof message !== 'object' || message === null || typeof message.role !== 'string' || typeof message.content !== 'string') {
      throw badRecord(record.place, `${field}[${i}]`, 'a message needs a string role and a string content');
    }
    return { role: message.role, content: message.content };
  });
}

function concat(parts: readonly { ids: readonly number[]; train: boolean }[]): TokenizedExample {
  const n = parts.reduce((s, p) => s + p.ids.length, 0);
  const ids = new Int32Array(n);
  const mask = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    ids.set(p.ids, at);
    if (p.train) mask.fill(1, at, at + p.ids.length);
    at += p.ids.length;
  }
  return { ids, mask };
}

/**
 * A chat rendered with the template, cut where each assistant turn starts and ends: the text up
 * to turn i with the generation prompt, then up to and including turn i. Each piece is tokenized
 * on its own (as axolotl does per turn), so the pieces are exactly the context and the reply.
 */
function chatParts(record: DataRecord, messages: readonly ChatMessage[], tokenizer: ExampleTokenizer, field: string): { text: string; train: boolean }[] {
  const render = tokenizer.applyChatTemplate;
  if (render === undefined) {
    throw badRecord(
      record.place,
      field,
      'chat messages need a tokenizer with a chat template',
      "use an hf model whose folder has one, or format 'prompt-completion'",
    );
  }
  const parts: { text: string; train: boolean }[] = [];
  let done = '';
  const take = (text: string, train: boolean, turn: number): void => {
    if (!text.startsWith(done)) {
      throw badRecord(
        record.place,
        `${field}[${turn}]`,
        'the chat template does not render this conversation as a growing prefix',
        'train on the whole text (trainOn "all")',
      );
    }
    if (text.length > done.length) parts.push({ text: text.slice(done.length), train });
    done = text;
  };
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    take(render(messages.slice(0, i), { addGenerationPrompt: true }), false, i);
    take(render(messages.slice(0, i + 1), { addGenerationPrompt: false }), true, i);
  });
  take(render(messages, { addGenerationPrompt: false }), false, messages.length - 1);
  if (!parts.some((p) => p.train)) throw badRecord(record.place, field, 'no assistant message: nothing to train on');
  return parts;
}

/** A record as token ids and loss mask, in the given format. */
export function tokenizeRecord(record: DataRecord, f: ExampleFormat, tokenizer: ExampleTokenizer): TokenizedExample {
  const eos = f.addEos && tokenizer.eos !== undefined ? [tokenizer.eos] : [];
  const all = f.trainOn === 'all';
  let example: TokenizedExample;
  if (f.format === 'text') {
    example = concat([{ ids: [...tokenizer.encode(stringField(record, f.textField)), ...eos], train: true }]);
  } else if (f.format === 'prompt-completion') {
    const prompt = stringField(record, f.promptField);
    const completion = stringField(record, f.completionField);
    example = concat([
      { ids: tokenizer.encode(prompt), train: all },
      { ids: [...tokenizer.encode(completion), ...eos], train: true },
    ]);
  } else {
    const parts = chatParts(record, messagesField(record, f.messagesField), tokenizer, f.messagesField);
    example = concat(parts.map((p) => ({ ids: tokenizer.encode(p.text), train: all || p.train })));
  }
  if (example.ids.length === 0) throw badRecord(record.place, f.format === 'text' ? f.textField : f.format, 'tokenizes to no tokens');
  if (f.maxLength !== undefined && example.ids.length > f.maxLength) {
    example = { ids: example.ids.slice(0, f.maxLength), mask: example.mask.slice(0, f.maxLength) };
  }
  return example;
}
