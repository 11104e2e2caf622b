import { BitNetError } from '../../errors.js';
import { headDim, PROJECTIONS, type BitnetLmConfig, type Projection } from '../../models/bitnet/config.js';
import { checkLmShapes, type BitnetLayerWeights, type BitnetLmWeights } from '../../models/bitnet/weights.js';
import { TernaryWeight } from '../../quant/weight.js';
import type { GgufVocabulary } from '../../tokenizer/gguf-vocabulary.js';
import { checkGgufConfig, ggufNumber, ggufPartName, readTernaryTensor } from './bitnet-read.js';
import { ggufGeneralMetadata, ggufTokenizerMetadata, writeBitnetGguf } from './bitnet-write.js';
import { decodeGgml, encodeGgml, encodeTernaryBlocks } from './ggml-types.js';
import { readGgufHeader, readGgufTensor, readGgufTensorBytes } from './reader.js';
import { gguf, type GgufValue } from './values.js';
import { writeGguf, type GgufTensorSpec } from './writer.js';

/** llama.cpp's own architectures for the converted families (`bitnet` for a Llama with SubLN). */
export type LlamaGgufArchitecture = 'llama' | 'qwen2' | 'qwen3';

const GGUF_PROJECTION: Record<Projection, string> = {
  q: 'attn_q',
  k: 'attn_k',
  v: 'attn_v',
  o: 'attn_output',
  gate: 'ffn_gate',
  up: 'ffn_up',
  down: 'ffn_down',
};

/**
 * llama.cpp's `llama` architecture rotates adjacent pairs (RoPE "normal"), HF's Llama the two halves of
 * each head; convert_hf_to_gguf.py permutes q and k rows so that both give the same attention.
 * Row 2i of a head takes HF row i, row 2i + 1 takes HF row i + d/2. `inverse` undoes it.
 */
function permuteHeads<T extends Int8Array | Float32Array>(rows: T, heads: number, d: number, cols: number, inverse = false): T {
  const out = rows.slice() as T;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (const [gguf, hf] of [
        [2 * i, i],
        [2 * i + 1, i + d / 2],
      ] as const) {
        const [to, from] = inverse ? [hf, gguf] : [gguf, hf];
        out.set(rows.subarray((h * d + from) * cols, (h * d + from + 1) * cols), (h * d + to) * cols);
      }
    }
  }
  return out;
}

function architectureOf(c: BitnetLmConfig, family: string): LlamaGgufArchitecture | 'bitnet' {
  if (c.subLn === true) {
    if (family !== 'llama' || c.attentionBias === true || c.qkNorm === true || c.ropeFreqFactors !== undefined || c.tiedHead === false) {
      throw new BitNetError('UNSUPPORTED', `a ${family} model with SubLN has no llama.cpp architecture`, {
        field: 'subLn',
        hint: "llama.cpp's bitnet architecture is a Llama with SubLN, tied head and plain RoPE: convert without subLn to export in the family's own architecture",
      });
    }
    return 'bitnet';
  }
  if (family === 'llama' || family === 'qwen2' || family === 'qwen3') return family;
  throw new BitNetError('UNSUPPORTED', `no GGUF architecture for '${family}'`, { field: 'family' });
}

/**
 * Writes a converted Llama/Qwen2/Qwen3 model as llama.cpp runs it: the family's own architecture
 * (`llama`, `qwen2`, `qwen3`; `bitnet` when SubLN was inserted) with TQ2_0/TQ1_0 projections, F16
 * embeddings and head, F32 norms and biases, the tokenizer of tokenizer.json.
 */
export async function writeLlamaGguf(
  path: string,
  w: BitnetLmWeights,
  family: string,
  vocab: GgufVocabulary,
  options: { type: 'tq2_0' | 'tq1_0'; name?: string },
): Promise<LlamaGgufArchitecture | 'bitnet'> {
  const c = w.config;
  const arch = architectureOf(c, family);
  if (arch === 'bitnet') {
    await writeBitnetGguf(path, w, vocab, options);
    return arch;
  }
  const hd = headDim(c);
  const ternaryType = options.type === 'tq2_0' ? 'TQ2_0' : 'TQ1_0';
  for (const p of PROJECTIONS) {
    const inF = w.layers[0]?.proj[p].shape[1] ?? 0;
    if (inF % 256 !== 0)
      throw new BitNetError('UNSUPPORTED', `${GGUF_PROJECTION[p]} has ${inF} inputs; ${ternaryType} blocks hold 256`, {
        field: GGUF_PROJECTION[p],
        hint: 'hidden_size, intermediate_size and heads x head_dim must be multiples of 256',
      });
  }
  const metadata: [string, GgufValue][] = [
    ...ggufGeneralMetadata(arch, options),
    [`${arch}.context_length`, gguf.u32(c.contextLength)],
    [`${arch}.embedding_length`, gguf.u32(c.hiddenSize)],
    [`${arch}.block_count`, gguf.u32(c.numLayers)],
    [`${arch}.feed_forward_length`, gguf.u32(c.intermediateSize)],
    [`${arch}.attention.head_count`, gguf.u32(c.numHeads)],
    [`${arch}.attention.head_count_kv`, gguf.u32(c.numKvHeads)],
    [`${arch}.attention.key_length`, gguf.u32(hd)],
    [`${arch}.attention.value_length`, gguf.u32(hd)],
    [`${arch}.rope.dimension_count`, gguf.u32(hd)],
    [`${arch}.rope.freq_base`, gguf.f32(c.ropeTheta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(c.rmsNormEps)],
    [`${arch}.vocab_size`, gguf.u32(c.vocabSize)],
    ...ggufTokenizerMetadata(vocab),
  ];
  const f32 = (name: string, data: Float32Array): GgufTensorSpec => ({ name, dims: [data.length], type: 'F32', data: () => encodeGgml('F32', data) });
  const permute = arch === 'llama';
  const tensors: GgufTensorSpec[] = [
    { name: 'token_embd.weight', dims: [c.hiddenSize, c.vocabSize], type: 'F16', data: () => encodeGgml('F16', w.tokenEmbedding) },
    f32('output_norm.weight', w.outputNorm),
  ];
  if (w.output !== undefined) {
    const output = w.output;
    tensors.push({ name: 'output.weight', dims: [c.hiddenSize, c.vocabSize], type: 'F16', data: () => encodeGgml('F16', output) });
  }
  if (c.ropeFreqFactors !== undefined) tensors.push(f32('rope_freqs.weight', Float32Array.from(c.ropeFreqFactors)));
  w.layers.forEach((layer, i) => {
    const b = `blk.${i}`;
    tensors.push(f32(`${b}.attn_norm.weight`, layer.attnNorm), f32(`${b}.ffn_norm.weight`, layer.ffnNorm));
    if (layer.qNorm !== undefined) tensors.push(f32(`${b}.attn_q_norm.weight`, layer.qNorm));
    if (layer.kNorm !== undefined) tensors.push(f32(`${b}.attn_k_norm.weight`, layer.kNorm));
    for (const p of PROJECTIONS) {
      const t = layer.proj[p];
      const [out, inF] = t.shape;
      const heads = p === 'q' ? c.numHeads : c.numKvHeads;
      const rotated = permute && (p === 'q' || p === 'k');
      const values = rotated ? permuteHeads(t.values, heads, hd, inF) : t.values;
      tensors.push({
        name: `${b}.${GGUF_PROJECTION[p]}.weight`,
        dims: [inF, out],
        type: ternaryType,
        data: () => encodeTernaryBlocks(ternaryType, values, t.scales[0] as number),
      });
      const bias = p === 'q' || p === 'k' || p === 'v' ? layer.bias?.[p] : undefined;
      if (bias !== undefined) tensors.push(f32(`${b}.${GGUF_PROJECTION[p]}.bias`, rotated ? permuteHeads(bias, heads, hd, 1) : bias));
    }
  });
  await writeGguf(path, { metadata, tensors });
  return arch;
}

/** Reads back what writeLlamaGguf wrote (`llama`, `qwen2`, `qwen3`), q/k rows in HF order again. */
export async function loadLlamaGguf(path: string): Promise<BitnetLmWeights & { ggufArchitecture: LlamaGgufArchitecture }> {
  const h = await readGgufHeader(path);
  const archValue = h.metadata.get('general.architecture');
  const arch = archValue?.type === 'string' ? archValue.value : '';
  if (arch !== 'llama' && arch !== 'qwen2' && arch !== 'qwen3') {
    throw new BitNetError('UNSUPPORTED', `${path}: architecture '${arch}' is not llama, qwen2 or qwen3`, { field: 'general.architecture' });
  }
  const find = (name: string): (typeof h.tensors)[number] | undefined => h.tensors.find((t) => t.name === name);
  const need = (name: string): (typeof h.tensors)[number] => {
    const t = find(name);
    if (t === undefined) throw new BitNetError('CORRUPT_FILE', `${path} has no tensor '${name}'`, { field: name });
    return t;
  };
  const num = (key: string): number | undefined => ggufNumber(h, `${arch}.${key}`);
  const required = (key: string): number => {
    const v = num(key);
    if (v === undefined) throw new BitNetError('CORRUPT_FILE', `GGUF metadata '${arch}.${key}' is missing`, { field: `${arch}.${key}` });
    return v;
  };
  const emb = need('token_embd.weight');
  const floats = async (name: string): Promise<Float32Array> => readGgufTensor(path, need(name));
  const optional = async (name: string): Promise<Float32Array | undefined> => (find(name) === undefined ? undefined : readGgufTensor(path, need(name)));
  const numHeads = required('attention.head_count');
  const numKvHeads = num('attention.head_count_kv') ?? numHeads;
  const hd = num('attention.key_length') ?? required('embedding_length') / numHeads;
  const freqs = await optional('rope_freqs.weight');
  const output = await optional('output.weight');
  const hasBias = find('blk.0.attn_q.bias') !== undefined;
  const qkNorm = find('blk.0.attn_q_norm.weight') !== undefined;
  const config = checkGgufConfig(
    {
      vocabSize: emb.dims[1] as number,
      hiddenSize: required('embedding_length'),
      intermediateSize: required('feed_forward_length'),
      numLayers: required('block_count'),
      numHeads,
      numKvHeads,
      contextLength: required('context_length'),
      ropeTheta: num('rope.freq_base') ?? 10000,
      rmsNormEps: required('attention.layer_norm_rms_epsilon'),
      hiddenAct: 'silu',
      headDim: hd,
      subLn: false,
      attentionBias: hasBias,
      qkNorm,
      tiedHead: output === undefined,
      ...(freqs === undefined ? {} : { ropeFreqFactors: Array.from(freqs) }),
    },
    arch,
    path,
  );
  const layers: BitnetLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const b = `blk.${i}`;
    const proj = {} as Record<Projection, TernaryWeight>;
    const bias: Partial<Record<'q' | 'k' | 'v', Float32Array>> = {};
    for (const p of PROJECTIONS) {
      const info = need(`${b}.${GGUF_PROJECTION[p]}.weight`);
      const [inF, out] = info.dims as [number, number];
      const { q, d } = await readTernaryTensor(path, info);
      const heads = p === 'q' ? numHeads : numKvHeads;
      const rotated = arch === 'llama' && (p === 'q' || p === 'k');
      proj[p] = new TernaryWeight(rotated ? permuteHeads(q, heads, hd, inF, true) : q, Float32Array.of(d), [out, inF], 'tensor');
      if (p === 'q' || p === 'k' || p === 'v') {
        const bv = await optional(`${b}.${GGUF_PROJECTION[p]}.bias`);
        if (bv !== undefined) bias[p] = rotated ? permuteHeads(bv, heads, hd, 1, true) : bv;
      }
    }
    const qNorm = await optional(`${b}.attn_q_norm.weight`);
    const kNorm = await optional(`${b}.attn_k_norm.weight`);
    layers.push({
      attnNorm: await floats(`${b}.attn_norm.weight`),
      ffnNorm: await floats(`${b}.ffn_norm.weight`),
      proj,
      ...(hasBias ? { bias } : {}),
      ...(qNorm === undefined ? {} : { qNorm }),
      ...(kNorm === undefined ? {} : { kNorm }),
    });
  }
  const weights: BitnetLmWeights & { ggufArchitecture: LlamaGgufArchitecture } = {
    ggufArchitecture: arch,
    config,
    tokenEmbedding: decodeGgml(emb.type, await readGgufTensorBytes(path, emb), emb.elements),
    outputNorm: await floats('output_norm.weight'),
    ...(output === undefined ? {} : { output }),
    layers,
  };
  checkLmShapes(weights, ggufPartName, path);
  return weights;
}
