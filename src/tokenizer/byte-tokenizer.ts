import type { GgufVocabulary } from './gguf-vocabulary.js';

/**
 * Byte-level tokenizer: token i < 256 is byte i, 256 is <|endoftext|> (BOS/EOS). Any UTF-8 text
 * round-trips. In GGUF it is stored as a GPT-2-style byte-level BPE vocabulary with no merges, so
 * llama.cpp maps every byte to the same token id as this class does.
 */
export class ByteTokenizer {
  static readonly EOT = 256;
  readonly vocabSize = 257;

  encode(text: string): number[] {
    return Array.from(new TextEncoder().encode(text));
  }

  decode(tokens: readonly number[]): string {
    return new TextDecoder().decode(Uint8Array.from(tokens.filter((t) => t < 256)));
  }

  /** GPT-2's bytes_to_unicode: printable characters stand for themselves, the rest map above 255. */
  static byteToUnicode(): string[] {
    const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const out: string[] = [];
    let extra = 0;
    for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
    return out;
  }

  ggufVocabulary(): GgufVocabulary {
    return {
      model: 'gpt2',
      tokens: [...ByteTokenizer.byteToUnicode(), '<|endoftext|>'],
      tokenTypes: [...new Array<number>(256).fill(1), 3],
      merges: [],
      // With no merges every pre-tokenizer gives one token per byte. 'deepseek-llm' is one of the
      // few for which llama.cpp turns off its clean-up of spaces when detokenizing (" 's" -> "'s"),
      // so llama.cpp's text is byte-identical to decode().
      pre: 'deepseek-llm',
      bosId: ByteTokenizer.EOT,
      eosId: ByteTokenizer.EOT,
    };
  }
}
