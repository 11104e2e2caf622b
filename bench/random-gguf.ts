import { bitnetGgufMetadata, type GgufVocabulary } from '../src/formats/gguf/bitnet-write.js';
import { writeGguf, type GgufTensorSpec } from '../src/formats/gguf/writer.js';
import { floatToHalf } from '../src/util/half.js';
import { PROJECTIONS, projectionShape, type BitnetLmConfig } from '../src/models/bitnet/config.js';
import { ByteTokenizer } from '../src/tokenizer/byte-tokenizer.js';
import { LAYER_NORMS, tensorName } from '../src/models/bitnet/spec.js';

/** BitNet-b1.58-2B-4T's shapes (2.41 B parameters), run as llama.cpp's `bitnet` architecture (SiLU). */
export const BITNET_2B4T_SHAPES: BitnetLmConfig = {
  vocabSize: 128256,
  hiddenSize: 2560,
  intermediateSize: 6912,
  numLayers: 30,
  numHeads: 20,
  numKvHeads: 5,
  contextLength: 4096,
  ropeTheta: 500000,
  rmsNormEps: 1e-5,
};

export function parameterCount(c: BitnetLmConfig): number {
  const proj = PROJECTIONS.reduce((n, p) => n + projectionShape(c, p)[0] * projectionShape(c, p)[1], 0);
  return c.vocabSize * c.hiddenSize + c.hiddenSize + c.numLayers * (proj + 3 * c.hiddenSize + c.intermediateSize);
}

/** xorshift32: random bytes fast enough for gigabytes (the weights' values do not matter for speed). */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** TQ2_0 blocks of uniform random ternary codes with d = the given scale. */
function randomTq2(elements: number, d: number, next: () => number): Uint8Array {
  const blocks = elements / 256;
  const out = new Uint8Array(blocks * 66);
  const valid = Array.from(
    { length: 81 },
    (_, i) => (i % 3) | ((Math.floor(i / 3) % 3) << 2) | ((Math.floor(i / 9) % 3) << 4) | ((Math.floor(i / 27) % 3) << 6),
  );
  const dh = floatToHalf(d);
  for (let b = 0; b < blocks; b++) {
    const o = b * 66;
    for (let i = 0; i < 64; i++) out[o + i] = valid[next() % 81] as number;
    out[o + 64] = dh & 0xff;
    out[o + 65] = dh >> 8;
  }
  return out;
}

/** F16 values of magnitude 2^-8 .. 2^-3 with random signs and mantissas. */
function randomHalves(elements: number, next: () => number): Uint8Array {
  const out = new Uint8Array(elements * 2);
  for (let i = 0; i < elements; i++) {
    const r = next();
    const h = (r & 0x8000) | ((7 + ((r >>> 16) % 5)) << 10) | ((r >>> 3) & 0x3ff);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return out;
}

/** ByteTokenizer's 257 tokens padded with never-produced filler tokens to vocabSize. */
function paddedVocabulary(vocabSize: number): GgufVocabulary {
  const v = new ByteTokenizer().ggufVocabulary();
  const extra = vocabSize - v.tokens.length;
  return {
    ...v,
    tokens: [...v.tokens, ...Array.from({ length: extra }, (_, i) => `filler${i}`)],
    tokenTypes: [...(v.tokenTypes ?? []), ...new Array<number>(extra).fill(1)],
  };
}

/**
 * Streams a random model of llama.cpp's `bitnet` architecture to a TQ2_0 GGUF, one tensor in
 * memory at a time (a 2.4 B model is 1.2 GB on disk; building it as float arrays would take 10 GB).
 */
export async function writeRandomBitnetGguf(path: string, c: BitnetLmConfig, seed: number): Promise<void> {
  const next = xorshift(seed);
  const vocab = paddedVocabulary(c.vocabSize);
  const metadata = bitnetGgufMetadata(c, vocab, { type: 'tq2_0', name: 'random bitnet (benchmark)' });
  const norm = (name: string, n: number): GgufTensorSpec => ({
    name,
    dims: [n],
    type: 'F32',
    data: () => new Uint8Array(Float32Array.from({ length: n }, () => 1 + ((next() % 2001) - 1000) / 10000).buffer),
  });
  const tensors: GgufTensorSpec[] = [
    {
      name: `${tensorName('gguf', 'tokenEmbedding')}.weight`,
      dims: [c.hiddenSize, c.vocabSize],
      type: 'F16',
      data: () => randomHalves(c.hiddenSize * c.vocabSize, next),
    },
    norm(`${tensorName('gguf', 'outputNorm')}.weight`, c.hiddenSize),
  ];
  for (let i = 0; i < c.numLayers; i++) {
    for (const role of LAYER_NORMS) tensors.push(norm(`${tensorName('gguf', role, i)}.weight`, role === 'ffnSubNorm' ? c.intermediateSize : c.hiddenSize));
    for (const p of PROJECTIONS) {
      const [out, inF] = projectionShape(c, p);
      tensors.push({ name: `${tensorName('gguf', p, i)}.weight`, dims: [inF, out], type: 'TQ2_0', data: () => randomTq2(out * inF, 1 / Math.sqrt(inF), next) });
    }
  }
  await writeGguf(path, { metadata, tensors });
}
