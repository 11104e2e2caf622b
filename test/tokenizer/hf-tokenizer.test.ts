import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ggufTokenizerMetadata } from '../../src/formats/gguf/bitnet-write.js';
import { ggufVocabularyFromHf } from '../../src/tokenizer/hf-gguf-vocabulary.js';
import { HfTokenizer, type ChatMessage } from '../../src/tokenizer/hf-tokenizer.js';
import { expectBitNetError } from '../helpers/errors.js';

interface Expected {
  encode: { text: string; ids: number[]; decoded: string }[];
  chat: { messages: ChatMessage[]; withPrompt: string; withoutPrompt: string };
  special: { bos: number; eos: number; pad: number };
}
const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));

// scripts/golden/make_tokenizer_golden.py: byte-level BPE (Llama 3 / Qwen) with the template in tokenizer_config.json;
// SentencePiece-style BPE with byte fallback (Llama 2 / TinyLlama) with the template in chat_template.jinja
describe.each(['tokenizer-bytelevel', 'tokenizer-sentencepiece'])('HfTokenizer (%s), against transformers', (name) => {
  const dir = golden(name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const tokenizer = HfTokenizer.fromDir(dir);

  it('the corpus exercises what it should: CRLF, whitespace runs, special tokens in text, characters outside the vocabulary', () => {
    const texts = expected.encode.map((c) => c.text).join('');
    expect(texts).toContain('\r\n');
    expect(texts).toMatch(/ {4}/);
    expect(expected.encode.some((c) => c.ids.slice(1).includes(expected.special.bos))).toBe(true);
  });

  it('encodes as transformers does (BOS from the post-processor, unicode, whitespace) and decodes back', () => {
    for (const c of expected.encode) {
      expect(tokenizer.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tokenizer.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded);
    }
    expect(tokenizer.encode('ROMEO:', { addSpecialTokens: false })[0]).not.toBe(expected.special.bos);
  });

  it('renders the chat template as apply_chat_template, with and without the generation prompt', () => {
    expect(tokenizer.applyChatTemplate(expected.chat.messages, { addGenerationPrompt: true })).toBe(expected.chat.withPrompt);
    expect(tokenizer.applyChatTemplate(expected.chat.messages)).toBe(expected.chat.withoutPrompt);
  });

  it('knows its special tokens', () => {
    expect({ bos: tokenizer.bos, eos: tokenizer.eos, pad: tokenizer.pad }).toEqual(expected.special);
  });
});

describe('HfTokenizer errors', () => {
  const dir = golden('tokenizer-bytelevel');
  it('a missing or corrupt tokenizer.json is a BitNetError naming the file', () => {
    const bad = mkdtempSync(join(tmpdir(), 'bitnet-tok-'));
    expectBitNetError(() => HfTokenizer.fromDir(bad), 'FILE_NOT_FOUND', 'tokenizer.json');
    cpSync(dir, bad, { recursive: true });
    writeFileSync(join(bad, 'tokenizer.json'), '{"model": ');
    expectBitNetError(() => HfTokenizer.fromDir(bad), 'CORRUPT_FILE', 'tokenizer.json');
  });
});

describe('the chat template goes into GGUF (tokenizer.chat_template), for llama.cpp chat front ends', () => {
  it('as tokenizer_config.json holds it', () => {
    const dir = 'test/golden/hf-llama-chat-tiny';
    const template = (JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8')) as { chat_template: string }).chat_template;
    const entry = ggufTokenizerMetadata(ggufVocabularyFromHf(dir)).find(([key]) => key === 'tokenizer.chat_template');
    expect(entry?.[1]).toEqual({ type: 'string', value: template });
  });
});
