/** A tokenizer as GGUF stores it (tokenizer.ggml.*): what writeBitnetGguf puts in the file. */
export interface GgufVocabulary {
  /** 'llama' (SentencePiece-style, with <0xXX> byte tokens) or 'gpt2'. */
  model: 'llama' | 'gpt2';
  tokens: string[];
  scores?: number[];
  /** llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte. */
  tokenTypes?: number[];
  bosId?: number;
  eosId?: number;
  unknownId?: number;
  /** BPE merges ('gpt2' vocabularies need the key, possibly empty). */
  merges?: string[];
  /** llama.cpp's pre-tokenizer name for 'gpt2' vocabularies. */
  pre?: string;
  /** The Jinja chat template (tokenizer.chat_template), which llama.cpp's chat front ends apply. */
  chatTemplate?: string;
}
