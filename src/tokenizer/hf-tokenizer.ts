import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { BitNetError } from '../errors.js';
import { readJsonObject } from '../util/json-file.js';

export interface ChatMessage {
  role: string;
  content: string;
}

type Json = Record<string, unknown>;

/** The part of @huggingface/tokenizers' Tokenizer used here (its .d.ts files import without extensions, which NodeNext resolution does not follow). */
interface TokenizerLike {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
}
const TokenizerClass = Tokenizer as unknown as new (tokenizer: object, config: object) => TokenizerLike;

function readJson(path: string, what: string): Json {
  if (!existsSync(path))
    throw new BitNetError('FILE_NOT_FOUND', `no ${what} at ${path}`, {
      field: what,
      hint: 'a HuggingFace model folder has tokenizer.json and tokenizer_config.json',
    });
  return readJsonObject(path);
}

/** The tokenizer library failing on a string or ids is its tokenizer.json's fault (it was checked when read). */
function tokenizerCall<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (cause) {
    if (cause instanceof BitNetError) throw cause;
    throw new BitNetError('CORRUPT_FILE', `tokenizer.json cannot ${what}: ${(cause as Error).message}`, {
      field: 'tokenizer.json',
      cause,
      hint: 'the tokenizer files are damaged or not what transformers writes',
    });
  }
}

function parseTemplate(text: string): Template {
  try {
    return new Template(text);
  } catch (cause) {
    throw new BitNetError('CORRUPT_FILE', `the chat template is not valid Jinja: ${(cause as Error).message}`, {
      field: 'chat_template',
      cause,
      hint: 'tokenizer_config.json chat_template (or chat_template.jinja) is damaged',
    });
  }
}

/** A special token of tokenizer_config.json: a string, or an AddedToken object with `content`. */
function specialToken(config: Json, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/**
 * A HuggingFace tokenizer from a model folder: tokenizer.json (byte-level BPE as Llama 3 / Qwen,
 * SentencePiece-style BPE as Llama 2) through @huggingface/tokenizers, and the chat template of
 * tokenizer_config.json (or chat_template.jinja) through @huggingface/jinja.
 */
export class HfTokenizer {
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly pad: number | undefined;
  private readonly template: Template | undefined;

  private constructor(
    private readonly tokenizer: TokenizerLike,
    private readonly config: Json,
    /** The Jinja chat template's text (tokenizer_config.json chat_template or chat_template.jinja). */
    readonly chatTemplate: string | undefined,
    /** sha256 of tokenizer.json, tokenizer_config.json and the chat template: what a tokenization cache is keyed by. */
    readonly fingerprint: string,
  ) {
    const id = (key: string): number | undefined => {
      const token = specialToken(config, key);
      return token === undefined ? undefined : this.tokenizer.token_to_id(token);
    };
    this.bos = id('bos_token');
    this.eos = id('eos_token');
    this.pad = id('pad_token');
    this.template = chatTemplate === undefined ? undefined : parseTemplate(chatTemplate);
  }

  static fromDir(dir: string): HfTokenizer {
    const json = readJson(join(dir, 'tokenizer.json'), 'tokenizer.json');
    const config = existsSync(join(dir, 'tokenizer_config.json')) ? readJson(join(dir, 'tokenizer_config.json'), 'tokenizer_config.json') : {};
    const jinja = join(dir, 'chat_template.jinja');
    const template = typeof config.chat_template === 'string' ? config.chat_template : existsSync(jinja) ? readFileSync(jinja, 'utf8') : undefined;
    let tokenizer: TokenizerLike;
    try {
      tokenizer = new TokenizerClass(json, config);
    } catch (cause) {
      throw new BitNetError('CORRUPT_FILE', `${join(dir, 'tokenizer.json')} is not a tokenizer this library reads: ${(cause as Error).message}`, {
        field: 'tokenizer.json',
        cause,
      });
    }
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(json))
      .update(JSON.stringify(config))
      .update(template ?? '')
      .digest('hex');
    return new HfTokenizer(tokenizer, config, template, fingerprint);
  }

  /** Token ids of text, with the special tokens the tokenizer adds (HF's add_special_tokens=True). */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return tokenizerCall('encode', () => this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids);
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return tokenizerCall('decode', () => this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false }));
  }

  /** The chat template rendered as transformers' apply_chat_template(tokenize=False) does. */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (this.template === undefined) {
      throw new BitNetError('UNSUPPORTED', 'this tokenizer has no chat template', {
        field: 'chat_template',
        hint: 'tokenizer_config.json has no chat_template and there is no chat_template.jinja',
      });
    }
    const special = Object.fromEntries(['bos_token', 'eos_token', 'pad_token', 'unk_token'].map((k) => [k, specialToken(this.config, k) ?? '']));
    try {
      return this.template.render({ messages, add_generation_prompt: options.addGenerationPrompt ?? false, ...special });
    } catch (cause) {
      throw new BitNetError('CORRUPT_FILE', `the chat template failed on these messages: ${(cause as Error).message}`, { field: 'chat_template', cause });
    }
  }
}
