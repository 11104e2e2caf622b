import { ByteTokenizer } from '../tokenizer/byte-tokenizer.js';
import type { ChatMessage, HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import type { ExampleTokenizer } from './examples.js';

/** A language model's tokenizer as data, evaluation and samples use it. */
export interface LmTokenizer extends ExampleTokenizer {
  decode(ids: readonly number[]): string;
  /** UTF-8 bytes the ids spell (special tokens count none): the denominator of bits per byte. */
  bytesOf(ids: readonly number[]): number;
  /** Id that fills padded windows (never a target). */
  readonly pad: number;
}

export function byteLmTokenizer(): LmTokenizer {
  const bytes = new ByteTokenizer();
  return {
    encode: (text) => bytes.encode(text),
    decode: (ids) => bytes.decode(ids),
    bytesOf: (ids) => ids.filter((id) => id < ByteTokenizer.EOT).length,
    eos: ByteTokenizer.EOT,
    pad: ByteTokenizer.EOT,
    applyChatTemplate: undefined,
    fingerprint: 'byte-tokenizer-v1',
  };
}

/** An HF tokenizer without added special tokens (the chat template writes its own). */
export function hfLmTokenizer(tokenizer: HfTokenizer): LmTokenizer {
  return {
    encode: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
    decode: (ids) => tokenizer.decode(ids),
    bytesOf: (ids) => Buffer.byteLength(tokenizer.decode(ids, { skipSpecialTokens: true })),
    eos: tokenizer.eos,
    pad: tokenizer.pad ?? tokenizer.eos ?? 0,
    applyChatTemplate: (messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }) => tokenizer.applyChatTemplate(messages, options),
    fingerprint: tokenizer.fingerprint,
  };
}
