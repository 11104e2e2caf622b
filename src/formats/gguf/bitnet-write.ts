import { BitNetError } from '../../errors.js';
import { headDim, PROJECTIONS, type BitnetLmConfig } from '../../models/bitnet/config.js';
import { BITNET_ARCHITECTURE, GGUF_CONFIG_KEYS, LAYER_NORMS, tensorName } from '../../models/bitnet/spec.js';
import { layerNorm, type BitnetLmWeights } from '../../models/bitnet/weights.js';
import type { GgufVocabulary } from '../../tokenizer/gguf-vocabulary.js';

export type { GgufVocabulary } from '../../tokenizer/gguf-vocabulary.js';
import { encodeGgml, encodeTernaryBlocks } from './ggml-types.js';
import { hasLowRank } from './lora-gguf.js';
import { gguf, type GgufValue } from './values.js';
import { writeGguf, type GgufTensorSpec } from './writer.js';

export interface BitnetGgufOptions {
  type: 'tq2_0' | 'tq1_0';
  /** d = 1 in the blocks and the exact f32 beta in `.scale` tensors. */
  scaleTensors?: boolean;
  name?: string;
  /** Unmerged LoRA updates go to their own file (writeLoraGguf); without this a model that has them is refused, not written without them. */
  loraSeparate?: boolean;
}

/** general.* keys of a ternary GGUF (file type 37 = TQ2_0, 36 = TQ1_0). */
export function ggufGeneralMetadata(architecture: string, options: Pick<BitnetGgufOptions, 'type' | 'name'>): [string, GgufValue][] {
  return [
    ['general.architecture', gguf.str(architecture)],
    ['general.name', gguf.str(options.name ?? 'bitnet-quantize')],
    ['general.file_type', gguf.u32(options.type === 'tq2_0' ? 37 : 36)],
    ['general.quantization_version', gguf.u32(2)],
  ];
}

/** tokenizer.ggml.* keys of a vocabulary. */
export function ggufTokenizerMetadata(vocab: GgufVocabulary): [string, GgufValue][] {
  const metadata: [string, GgufValue][] = [
    ['tokenizer.ggml.model', gguf.str(vocab.model)],
    ['tokenizer.ggml.tokens', gguf.array('string', vocab.tokens)],
  ];
  if (vocab.pre !== undefined) metadata.push(['tokenizer.ggml.pre', gguf.str(vocab.pre)]);
  if (vocab.merges !== undefined) metadata.push(['tokenizer.ggml.merges', gguf.array('string', vocab.merges)]);
  if (vocab.scores !== undefined) metadata.push(['tokenizer.ggml.scores', gguf.array('f32', vocab.scores)]);
  if (vocab.tokenTypes !== undefined) metadata.push(['tokenizer.ggml.token_type', gguf.array('i32', vocab.tokenTypes)]);
  if (vocab.bosId !== undefined) metadata.push(['tokenizer.ggml.bos_token_id', gguf.u32(vocab.bosId)]);
  if (vocab.eosId !== undefined) metadata.push(['tokenizer.ggml.eos_token_id', gguf.u32(vocab.eosId)]);
  if (vocab.unknownId !== undefined) metadata.push(['tokenizer.ggml.unknown_token_id', gguf.u32(vocab.unknownId)]);
  metadata.push(['tokenizer.ggml.add_bos_token', gguf.bool(false)]);
  if (vocab.chatTemplate !== undefined) metadata.push(['tokenizer.chat_template', gguf.str(vocab.chatTemplate)]);
  return metadata;
}

/** Metadata of llama.cpp's `bitnet` architecture: hparams and the tokenizer (REFERENCE.md §4). */
export function bitnetGgufMetadata(c: BitnetLmConfig, vocab: GgufVocabulary, options: Pick<BitnetGgufOptions, 'type' | 'name'>): [string, GgufValue][] {
  const arch = BITNET_ARCHITECTURE;
  return [
    ...ggufGeneralMetadata(arch, options),
    ...GGUF_CONFIG_KEYS.map(({ field, key, type }): [string, GgufValue] => [`${arch}.${key}`, gguf[type](c[field] as number)]),
    [`${arch}.rope.dimension_count`, gguf.u32(headDim(c))],
    ...ggufTokenizerMetadata(vocab),
  ];
}

/**
 * Writes llama.cpp's `bitnet` architecture (REFERENCE.md §4): hparams, token_embd (F16, tied
 * output), per block norms (F32) and ternary projections (TQ2_0/TQ1_0), tokenizer metadata.
 */
export async function writeBitnetGguf(path: string, w: BitnetLmWeights, vocab: GgufVocabulary, options: BitnetGgufOptions): Promise<void> {
  const c = w.config;
  if (c.hiddenAct === 'relu2') {
    throw new BitNetError(
      'UNSUPPORTED',
      "llama.cpp's bitnet architecture (node-llama-cpp 3.21.1) runs SiLU; this model uses ReLU\u00b2 (BitNet-b1.58-2B-4T style)",
      {
        field: 'hiddenAct',
        hint: 'export it as a HuggingFace checkpoint (exportHfBitnet), or train with hiddenAct silu',
      },
    );
  }
  if (hasLowRank(w) && options.loraSeparate !== true) {
    throw new BitNetError('UNSUPPORTED', 'the model has an unmerged LoRA adapter: a GGUF of the base alone would drop it', {
      field: 'adapter',
      hint: 'merge it into the ternary weights (bitnet export --adapter merge; mergeLowRank), or write it as a llama.cpp LoRA file beside the base (--adapter separate; writeLoraGguf)',
    });
  }
  const ternaryType = options.type === 'tq2_0' ? 'TQ2_0' : 'TQ1_0';
  const metadata = bitnetGgufMetadata(c, vocab, options);

  const f32 = (name: string, data: Float32Array): GgufTensorSpec => ({ name, dims: [data.length], type: 'F32', data: () => encodeGgml('F32', data) });
  const tensors: GgufTensorSpec[] = [
    { name: `${tensorName('gguf', 'tokenEmbedding')}.weight`, dims: [c.hiddenSize, c.vocabSize], type: 'F16', data: () => encodeGgml('F16', w.tokenEmbedding) },
    f32(`${tensorName('gguf', 'outputNorm')}.weight`, w.outputNorm),
  ];
  w.layers.forEach((layer, i) => {
    for (const norm of LAYER_NORMS) tensors.push(f32(`${tensorName('gguf', norm, i)}.weight`, layerNorm(layer, norm, i)));
    for (const p of PROJECTIONS) {
      const t = layer.proj[p];
      const [out, inF] = t.shape;
      const beta = t.scales[0] as number;
      const name = tensorName('gguf', p, i);
      tensors.push({
        name: `${name}.weight`,
        dims: [inF, out],
        type: ternaryType,
        data: () => encodeTernaryBlocks(ternaryType, t.values, options.scaleTensors === true ? 1 : beta),
      });
      if (options.scaleTensors === true) tensors.push(f32(`${name}.scale`, Float32Array.of(beta)));
    }
  });
  await writeGguf(path, { metadata, tensors });
}

/** A SentencePiece-style vocabulary llama.cpp loads: <unk>, <s>, </s>, 256 byte tokens, then pieces. */
export function byteVocabulary(pieces: readonly string[] = []): GgufVocabulary {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = ['<unk>', '<s>', '</s>', ...bytes, ...pieces];
  return {
    model: 'llama',
    tokens,
    scores: tokens.map((_, i) => (i < 259 ? 0 : -i)),
    tokenTypes: tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)),
    bosId: 1,
    eosId: 2,
    unknownId: 0,
  };
}
