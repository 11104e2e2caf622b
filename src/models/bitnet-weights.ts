import { BitNetError } from '../errors.js';
import { quantizeWeights, type TernaryWeight } from '../quant/weight.js';
import { SeededRandom } from '../util/random.js';

/** Hyperparameters of a llama-like BitNet decoder (llama.cpp's `bitnet` architecture). */
export interface BitnetLmConfig {
  vocabSize: number;
  /** n_embd: a multiple of 256 so TQ types apply. */
  hiddenSize: number;
  /** n_ff: a multiple of 256. */
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  contextLength: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** FFN gate activation: 'silu' (1bitLLM, what llama.cpp's bitnet runs; default) or 'relu2' (BitNet-b1.58-2B-4T). */
  hiddenAct?: 'silu' | 'relu2';
}

export const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type Projection = (typeof PROJECTIONS)[number];

export interface BitnetLayerWeights {
  attnNorm: Float32Array;
  attnSubNorm: Float32Array;
  ffnNorm: Float32Array;
  ffnSubNorm: Float32Array;
  /** PyTorch layout [out, in] each. */
  proj: Record<Projection, TernaryWeight>;
}

/** Weights of a BitNet LM in plain arrays: what the GGUF exporter writes and the reference forward reads. */
export interface BitnetLmWeights {
  config: BitnetLmConfig;
  /** [vocab, hidden], tied to the output head. */
  tokenEmbedding: Float32Array;
  /** The same embedding as raw IEEE half bits, when it was read from an F16 tensor (a fast output head). */
  tokenEmbeddingHalf?: Uint16Array;
  outputNorm: Float32Array;
  layers: BitnetLayerWeights[];
}

export function headDim(c: BitnetLmConfig): number {
  return c.hiddenSize / c.numHeads;
}

export function checkBitnetConfig(c: BitnetLmConfig): void {
  const problems: string[] = [];
  if (c.hiddenSize % c.numHeads !== 0) problems.push('hiddenSize must be a multiple of numHeads');
  if (c.numHeads % c.numKvHeads !== 0) problems.push('numHeads must be a multiple of numKvHeads');
  if (headDim(c) % 2 !== 0) problems.push('the head dimension must be even (RoPE)');
  if (problems.length > 0) throw new BitNetError('INVALID_CONFIG', `bad BitNet LM config: ${problems.join('; ')}`, { field: 'model' });
}

/** Shapes [out, in] of each projection. */
export function projectionShape(c: BitnetLmConfig, p: Projection): [number, number] {
  const kv = headDim(c) * c.numKvHeads;
  switch (p) {
    case 'q':
    case 'o':
      return [c.hiddenSize, c.hiddenSize];
    case 'k':
    case 'v':
      return [kv, c.hiddenSize];
    case 'gate':
    case 'up':
      return [c.intermediateSize, c.hiddenSize];
    case 'down':
      return [c.hiddenSize, c.intermediateSize];
  }
}

/**
 * A random model (normal latent weights, absmean-ternarized; norms near 1), for tests and benchmarks.
 * Small embeddings next to strong projections keep a random model from just repeating its input.
 */
export function randomBitnetWeights(config: BitnetLmConfig, seed: number, scales: { weightStd?: number; embeddingStd?: number } = {}): BitnetLmWeights {
  checkBitnetConfig(config);
  const rng = new SeededRandom(seed);
  const normal = (n: number, std: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * std);
  const norm = (n: number): Float32Array => Float32Array.from({ length: n }, () => 1 + rng.normal() * 0.1);
  const layers = Array.from({ length: config.numLayers }, () => {
    const proj = {} as Record<Projection, TernaryWeight>;
    for (const p of PROJECTIONS) {
      const shape = projectionShape(config, p);
      proj[p] = quantizeWeights(normal(shape[0] * shape[1], scales.weightStd ?? 0.02), shape);
    }
    return { attnNorm: norm(config.hiddenSize), attnSubNorm: norm(config.hiddenSize), ffnNorm: norm(config.hiddenSize), ffnSubNorm: norm(config.intermediateSize), proj };
  });
  return { config, tokenEmbedding: normal(config.vocabSize * config.hiddenSize, scales.embeddingStd ?? 1), outputNorm: norm(config.hiddenSize), layers };
}
