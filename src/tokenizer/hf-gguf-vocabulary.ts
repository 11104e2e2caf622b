import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import type { GgufVocabulary } from './gguf-vocabulary.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { readJsonObject } from '../util/json-file.js';

type Json = Record<string, unknown>;

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

/** llama.cpp's pre-tokenizer for a byte-level BPE tokenizer.json: GPT-2's regex when the ByteLevel step splits. */
function preTokenizerName(json: Json): string {
  const pre = json.pre_tokenizer as Json | null | undefined;
  if (pre?.type === 'ByteLevel' && pre.use_regex !== false) return 'gpt-2';
  const steps = (pre?.pretokenizers as Json[] | undefined) ?? [];
  const pattern = JSON.stringify(steps.find((s) => s.type === 'Split')?.pattern ?? '');
  // the Llama 3 and Qwen2 splitting regexes differ in how digits group: \p{N}{1,3} (llama3) or \p{N} (qwen2)
  if (pattern.includes('\\\\p{N}{1,3}')) return 'llama-bpe';
  if (pattern.includes('\\\\p{N}')) return 'qwen2';
  return 'default';
}

/**
 * The tokenizer of a HuggingFace folder as GGUF stores it (tokenizer.ggml.*): byte-level BPE as
 * 'gpt2' (tokens, merges, token types, pre-tokenizer), SentencePiece-style BPE with byte fallback
 * as 'llama' (tokens with U+2581, <0xNN> byte tokens, scores from the merge order).
 */
export function ggufVocabularyFromHf(dir: string): GgufVocabulary {
  const json = readJsonObject(join(dir, 'tokenizer.json')) as Json;
  const model = json.model as Json | undefined;
  if (model?.type !== 'BPE') {
    throw new BitNetError('UNSUPPORTED', `tokenizer.json model '${String(model?.type)}' has no GGUF form here (BPE only)`, { field: 'tokenizer.json' });
  }
  const vocab = model.vocab as Record<string, number>;
  const added = (json.added_tokens as AddedToken[] | undefined) ?? [];
  const size = Math.max(...Object.values(vocab), ...added.map((t) => t.id)) + 1;
  const tokens = new Array<string>(size).fill('');
  for (const [token, id] of Object.entries(vocab)) tokens[id] = token;
  for (const t of added) tokens[t.id] = t.content;
  const special = new Set(added.filter((t) => t.special === true).map((t) => t.id));
  const userDefined = new Set(added.filter((t) => t.special !== true).map((t) => t.id));
  const merges = ((model.merges as (string | [string, string])[] | undefined) ?? []).map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const hf = HfTokenizer.fromDir(dir);
  const ids = {
    ...(hf.bos === undefined ? {} : { bosId: hf.bos }),
    ...(hf.eos === undefined ? {} : { eosId: hf.eos }),
    ...(hf.chatTemplate === undefined ? {} : { chatTemplate: hf.chatTemplate }),
  };
  if (model.byte_fallback === true) {
    const rank = new Map(merges.map((m, i) => [m.replace(' ', ''), i]));
    const unk = typeof model.unk_token === 'string' ? vocab[model.unk_token] : undefined;
    return {
      model: 'llama',
      tokens,
      scores: tokens.map((t) => -(rank.get(t) ?? (t.length > 1 && !/^<0x[0-9A-F]{2}>$/.test(t) ? merges.length : 0))),
      tokenTypes: tokens.map((t, id) => (id === unk ? 2 : special.has(id) ? 3 : /^<0x[0-9A-F]{2}>$/.test(t) ? 6 : userDefined.has(id) ? 4 : 1)),
      ...ids,
      ...(unk === undefined ? {} : { unknownId: unk }),
    };
  }
  return {
    model: 'gpt2',
    tokens,
    tokenTypes: tokens.map((_, id) => (special.has(id) ? 3 : userDefined.has(id) ? 4 : 1)),
    merges,
    pre: preTokenizerName(json),
    ...ids,
  };
}
