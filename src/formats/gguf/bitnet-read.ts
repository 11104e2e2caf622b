import { endianness } from 'node:os';
import { BitNetError } from '../../errors.js';
import { checkBitnetConfig, PROJECTIONS, type BitnetLmConfig, type Projection } from '../../models/bitnet/config.js';
import { BITNET_ARCHITECTURE, GGUF_CONFIG_KEYS, LAYER_NORMS, LAYER_TENSORS, tensorName, type LayerNorm } from '../../models/bitnet/spec.js';
import { checkLmShapes, type BitnetLayerWeights, type BitnetLmWeights } from '../../models/bitnet/weights.js';
import { TernaryWeight } from '../../quant/weight.js';
import { halfToFloat } from '../../util/half.js';
import { decodeGgml } from './ggml-types.js';
import { readGgufHeader, readGgufTensor, readGgufTensorBytes, type GgufHeader } from './reader.js';

/** A numeric metadata value; absent gives `fallback` (or an error without one), any other type is an error. */
export function ggufNumber(h: GgufHeader, key: string, fallback?: number): number | undefined {
  const v = h.metadata.get(key);
  if (v === undefined) return fallback;
  if (v.type === 'array' || v.type === 'string' || v.type === 'bool') {
    throw new BitNetError('CORRUPT_FILE', `GGUF metadata '${key}' is a ${v.type === 'array' ? 'list' : v.type}, not a number`, { field: key });
  }
  return Number(v.value);
}

function num(h: GgufHeader, key: string, fallback?: number): number {
  const v = ggufNumber(h, key, fallback);
  if (v === undefined) throw new BitNetError('CORRUPT_FILE', `GGUF metadata '${key}' is missing`, { field: key });
  return v;
}

/** The config a GGUF's metadata gives, checked: a bad value is the file's fault and names its metadata key. */
export function checkGgufConfig(config: BitnetLmConfig, arch: string, path: string): BitnetLmConfig {
  try {
    return checkBitnetConfig(config);
  } catch (cause) {
    if (!(cause instanceof BitNetError)) throw cause;
    const field = cause.field?.replace(/^model\./, '');
    const key = field === 'headDim' ? 'attention.key_length' : GGUF_CONFIG_KEYS.find((k) => k.field === field)?.key;
    throw new BitNetError('CORRUPT_FILE', `${path}: its metadata describes no valid model (${cause.message.replace(/\s+/g, ' ')})`, {
      field: key === undefined ? 'metadata' : `${arch}.${key}`,
      cause,
      hint: 'the GGUF metadata was damaged or edited',
    });
  }
}

/**
 * TQ2_0 blocks whose scales d all agree (what a per-tensor ternary export writes) as ternary values
 * straight from their codes; undefined when the blocks' d differ (the generic path then decides).
 */
function tq2Ternary(bytes: Uint8Array, elements: number): { q: Int8Array; d: number } | undefined {
  const blocks = elements / 256;
  const dBits = (b: number): number => (bytes[b * 66 + 64] as number) | ((bytes[b * 66 + 65] as number) << 8);
  const first = dBits(0);
  for (let b = 1; b < blocks; b++) if (dBits(b) !== first) return undefined;
  const q = new Int8Array(elements);
  for (let b = 0; b < blocks; b++) {
    const qs = b * 66;
    const base = b * 256;
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 4; l++) {
        const o = base + 128 * half + 32 * l;
        for (let m = 0; m < 32; m++) {
          const code = ((bytes[qs + 32 * half + m] as number) >> (2 * l)) & 3;
          if (code === 3) return undefined;
          q[o + m] = code - 1;
        }
      }
    }
  }
  return { q, d: halfToFloat(first) };
}

/**
 * TQ2_0 blocks whose scales d all agree as their 2-bit codes alone (the 'rows' layout: each block's
 * 64 `qs` bytes without its d); undefined when the blocks' d differ or a code is 3.
 */
function tq2Codes(bytes: Uint8Array, elements: number): { codes: Uint8Array; d: number } | undefined {
  const blocks = elements / 256;
  const dBits = (b: number): number => (bytes[b * 66 + 64] as number) | ((bytes[b * 66 + 65] as number) << 8);
  const first = dBits(0);
  const codes = new Uint8Array(blocks * 64);
  for (let b = 0; b < blocks; b++) {
    if (dBits(b) !== first) return undefined;
    const block = bytes.subarray(b * 66, b * 66 + 64);
    // a byte holds 4 codes: one of them is 3 where both bits of a field are set
    for (const byte of block) if ((byte & (byte >> 1) & 0x55) !== 0) return undefined;
    codes.set(block, b * 64);
  }
  return { codes, d: halfToFloat(first) };
}

/** A TQ2_0 projection held packed (2 bits a weight), or undefined where its blocks do not share one d. */
async function readPackedTernary(path: string, info: GgufHeader['tensors'][number], scale: number): Promise<TernaryWeight | undefined> {
  if (info.type !== 'TQ2_0') return undefined;
  const direct = tq2Codes(await readGgufTensorBytes(path, info), info.elements);
  if (direct === undefined) return undefined;
  const [inF, out] = info.dims as [number, number];
  const d = direct.d === 0 ? 1 : direct.d;
  return TernaryWeight.packed({ bytes: direct.codes, layout: 'rows' }, Float32Array.of(Math.fround(d * scale)), [out, inF], 'tensor');
}

/**
 * A ternary projection tensor as its values and the one scale d its blocks share (1 for an all-zero
 * tensor): TQ2_0 straight from the codes, any other type decoded and divided by its largest |value|.
 */
export async function readTernaryTensor(path: string, info: GgufHeader['tensors'][number]): Promise<{ q: Int8Array; d: number }> {
  const bytes = await readGgufTensorBytes(path, info);
  const direct = info.type === 'TQ2_0' ? tq2Ternary(bytes, info.elements) : undefined;
  if (direct !== undefined) return { q: direct.q, d: direct.d === 0 ? 1 : direct.d };
  const values = decodeGgml(info.type, bytes, info.elements);
  let d = 0;
  for (const v of values) if (v !== 0) d = Math.max(d, Math.abs(v));
  const q = new Int8Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const r = d === 0 ? 0 : Math.round((values[k] as number) / d);
    if (r < -1 || r > 1) throw new BitNetError('UNSUPPORTED', `${info.name} is not ternary (${info.type})`, { field: info.name });
    q[k] = r;
  }
  return { q, d: d === 0 ? 1 : d };
}

function littleEndianHalves(bytes: Uint8Array): Uint16Array {
  if (endianness() === 'LE' && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  const out = new Uint16Array(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

/**
 * Reads a byte of every page. Pages a file read had just filled were seen to fault again on their
 * first touch (about 1 s for the 2.4B model's embedding): this takes that at load, not in the
 * first token's head.
 */
function touchPages(bytes: Uint8Array): number {
  let x = 0;
  for (let i = 0; i < bytes.length; i += 4096) x ^= bytes[i] as number;
  return x;
}

/** The GGUF name of a part of BitnetLmWeights (checkLmShapes' `name`). */
export function ggufPartName(part: string, layer?: number): string {
  const globals: Record<string, string> = {
    tokenEmbedding: 'token_embd.weight',
    output: 'output.weight',
    outputNorm: 'output_norm.weight',
    ropeFreqFactors: 'rope_freqs.weight',
    numLayers: 'block_count',
  };
  if (layer === undefined) return globals[part] ?? part;
  if (part in LAYER_TENSORS) return `${tensorName('gguf', part as keyof typeof LAYER_TENSORS, layer)}.weight`;
  if (part === 'qNorm' || part === 'kNorm') return `blk.${layer}.attn_${part[0]}_norm.weight`;
  if (part.startsWith('bias.')) return `blk.${layer}.attn_${part.slice(5)}.bias`;
  return `blk.${layer}.${part}`;
}

export interface GgufLoadOptions {
  /**
   * Hold what decoding needs and no more: TQ2_0 projections as their packed codes (2 bits a
   * weight; values unpack on each read) and an F16 embedding as its halves only (tokenEmbedding
   * is then decoded to float32 on first read).
   */
  packed?: boolean;
}

/**
 * Reads a GGUF of llama.cpp's `bitnet` architecture into plain weights: TQ projections become
 * ternary values with beta = the blocks' d (times the `.scale` tensor when there is one).
 */
export async function loadBitnetGguf(path: string, options: GgufLoadOptions = {}): Promise<BitnetLmWeights> {
  const h = await readGgufHeader(path);
  const arch = h.metadata.get('general.architecture');
  if (arch?.type !== 'string' || arch.value !== BITNET_ARCHITECTURE) {
    throw new BitNetError('UNSUPPORTED', `${path} is not a bitnet-architecture GGUF (general.architecture = ${arch?.type === 'string' ? arch.value : '?'})`, {
      field: 'general.architecture',
    });
  }
  const tensor = (name: string): (typeof h.tensors)[number] => {
    const t = h.tensors.find((x) => x.name === name);
    if (t === undefined) throw new BitNetError('CORRUPT_FILE', `${path} has no tensor '${name}'`, { field: name });
    return t;
  };
  const emb = tensor(`${tensorName('gguf', 'tokenEmbedding')}.weight`);
  const read: Partial<BitnetLmConfig> = {};
  for (const { field, key, fallback } of GGUF_CONFIG_KEYS) {
    // the vocabulary size is the embedding's (llama.cpp writes the key only sometimes)
    if (field === 'vocabSize') continue;
    (read as Record<string, number>)[field] = num(h, `${BITNET_ARCHITECTURE}.${key}`, fallback?.(read));
  }
  const config = checkGgufConfig({ ...(read as BitnetLmConfig), vocabSize: emb.dims[1] as number }, BITNET_ARCHITECTURE, path);
  const floats = async (name: string): Promise<Float32Array> => readGgufTensor(path, tensor(name));
  const layers: BitnetLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const proj = {} as Record<Projection, TernaryWeight>;
    for (const p of PROJECTIONS) {
      const name = tensorName('gguf', p, i);
      const info = tensor(`${name}.weight`);
      const [inF, out] = info.dims as [number, number];
      const scaleInfo = h.tensors.find((x) => x.name === `${name}.scale`);
      const scale = scaleInfo === undefined ? 1 : ((await readGgufTensor(path, scaleInfo))[0] as number);
      const packed = options.packed === true ? await readPackedTernary(path, info, scale) : undefined;
      if (packed !== undefined) {
        proj[p] = packed;
        continue;
      }
      const { q, d } = await readTernaryTensor(path, info);
      proj[p] = new TernaryWeight(q, Float32Array.of(Math.fround(d * scale)), [out, inF], 'tensor');
    }
    const norms = {} as Record<LayerNorm, Float32Array>;
    for (const norm of LAYER_NORMS) norms[norm] = await floats(`${tensorName('gguf', norm, i)}.weight`);
    layers.push({ ...norms, proj });
  }
  const embBytes = await readGgufTensorBytes(path, emb);
  const halvesOnly = options.packed === true && emb.type === 'F16';
  const weights: BitnetLmWeights = {
    config,
    tokenEmbedding: halvesOnly ? new Float32Array(0) : decodeGgml(emb.type, embBytes, emb.elements),
    outputNorm: await floats(`${tensorName('gguf', 'outputNorm')}.weight`),
    layers,
  };
  if (emb.type === 'F16') weights.tokenEmbeddingHalf = littleEndianHalves(embBytes);
  if (halvesOnly) {
    touchPages(embBytes);
    let decoded: Float32Array | undefined;
    Object.defineProperty(weights, 'tokenEmbedding', { enumerable: true, get: () => (decoded ??= decodeGgml(emb.type, embBytes, emb.elements)) });
  }
  checkLmShapes(weights, ggufPartName, path);
  return weights;
}
