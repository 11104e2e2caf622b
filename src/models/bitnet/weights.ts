import { BitNetError } from '../../errors.js';
import type { LowRankDelta } from '../../nn/low-rank.js';
import { quantizeWeights, type TernaryWeight } from '../../quant/weight.js';
import { SeededRandom } from '../../util/random.js';
import { checkBitnetConfig, headDim, PROJECTIONS, projectionShape, type BitnetLmConfig, type Projection } from './config.js';

export interface BitnetLayerWeights {
  attnNorm: Float32Array;
  /** BitNet's SubLN (absent in a converted Llama/Qwen without it: config.subLn false). */
  attnSubNorm?: Float32Array;
  ffnNorm: Float32Array;
  ffnSubNorm?: Float32Array;
  /** PyTorch layout [out, in] each. */
  proj: Record<Projection, TernaryWeight>;
  /** q/k/v bias (Qwen2). */
  bias?: Partial<Record<'q' | 'k' | 'v', Float32Array>>;
  /** Per-head RMSNorm gains of q and k, [headDim] each (Qwen3). */
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  /** Unmerged LoRA updates of projections (a model trained with a LoRA adapter), applied beside the ternary product. */
  lora?: Partial<Record<Projection, LowRankDelta>>;
}

/** Weights of a BitNet LM in plain arrays: what the GGUF exporter writes and the reference forward reads. */
export interface BitnetLmWeights {
  config: BitnetLmConfig;
  /** [vocab, hidden], tied to the output head. */
  tokenEmbedding: Float32Array;
  /** The same embedding as raw IEEE half bits, when it was read from an F16 tensor (a fast output head). */
  tokenEmbeddingHalf?: Uint16Array;
  outputNorm: Float32Array;
  /** An untied output head [vocab, hidden] (config.tiedHead false); tied models use tokenEmbedding. */
  output?: Float32Array;
  layers: BitnetLayerWeights[];
  /**
   * llama.cpp's architecture for these weights when known (a GGUF read, a converted model). Its
   * `llama` stores q/k rows with each RoPE pair side by side, so llama.cpp sums q·k in that order;
   * the runner's llama.cpp numerics follow it.
   */
  ggufArchitecture?: 'bitnet' | 'llama' | 'qwen2' | 'qwen3';
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
    return {
      attnNorm: norm(config.hiddenSize),
      attnSubNorm: norm(config.hiddenSize),
      ffnNorm: norm(config.hiddenSize),
      ffnSubNorm: norm(config.intermediateSize),
      proj,
    };
  });
  return { config, tokenEmbedding: normal(config.vocabSize * config.hiddenSize, scales.embeddingStd ?? 1), outputNorm: norm(config.hiddenSize), layers };
}

/** A norm of a BitNet layer that the bitnet architecture (GGUF, HF) requires. */
export function layerNorm(layer: BitnetLayerWeights, norm: 'attnNorm' | 'attnSubNorm' | 'ffnNorm' | 'ffnSubNorm', index: number): Float32Array {
  const v = layer[norm];
  if (v === undefined) {
    throw new BitNetError('UNSUPPORTED', `layer ${index} has no ${norm}: the bitnet architecture needs SubLN`, {
      field: 'subLn',
      hint: 'a converted Llama/Qwen without SubLN exports in its own architecture (exportHfPretrained, writeLlamaGguf)',
    });
  }
  return v;
}

/**
 * Checks every array of `w` against the shapes its config implies (a file's hyperparameters
 * against its tensors), before anything indexes them. `name` gives the file's name of a part
 * (`attnNorm`, `q`, `bias.k`, ... with its layer; `tokenEmbedding`, `output`, `outputNorm`).
 */
export function checkLmShapes(w: BitnetLmWeights, name: (part: string, layer?: number) => string, source: string): void {
  const c = w.config;
  const hd = headDim(c);
  const qWidth = hd * c.numHeads;
  const kvWidth = hd * c.numKvHeads;
  const expect = (values: ArrayLike<number> | undefined, length: number, part: string, layer?: number): void => {
    if (values !== undefined && values.length !== length) {
      const field = name(part, layer);
      throw new BitNetError('CORRUPT_FILE', `${source}: ${field} has ${values.length} values; the model's hyperparameters need ${length}`, {
        field,
        hint: 'the metadata (widths, head counts, layer count) and the tensors disagree',
      });
    }
  };
  if (w.layers.length !== c.numLayers) {
    throw new BitNetError('CORRUPT_FILE', `${source}: ${w.layers.length} layers, the metadata says ${c.numLayers}`, { field: name('numLayers') });
  }
  // the halves when there are (a packed load decodes the float32 copy only when read)
  expect(w.tokenEmbeddingHalf ?? w.tokenEmbedding, c.vocabSize * c.hiddenSize, 'tokenEmbedding');
  expect(w.output, c.vocabSize * c.hiddenSize, 'output');
  expect(w.outputNorm, c.hiddenSize, 'outputNorm');
  expect(c.ropeFreqFactors, hd / 2, 'ropeFreqFactors');
  w.layers.forEach((l, i) => {
    expect(l.attnNorm, c.hiddenSize, 'attnNorm', i);
    expect(l.ffnNorm, c.hiddenSize, 'ffnNorm', i);
    expect(l.attnSubNorm, qWidth, 'attnSubNorm', i);
    expect(l.ffnSubNorm, c.intermediateSize, 'ffnSubNorm', i);
    expect(l.qNorm, hd, 'qNorm', i);
    expect(l.kNorm, hd, 'kNorm', i);
    expect(l.bias?.q, qWidth, 'bias.q', i);
    expect(l.bias?.k, kvWidth, 'bias.k', i);
    expect(l.bias?.v, kvWidth, 'bias.v', i);
    for (const p of PROJECTIONS) {
      const [out, inF] = projectionShape(c, p);
      const t = l.proj[p];
      if (t.shape[0] !== out || t.shape[1] !== inF) {
        const field = name(p, i);
        throw new BitNetError('CORRUPT_FILE', `${source}: ${field} is [${t.shape.join(', ')}] ([out, in]); the model's hyperparameters need [${out}, ${inF}]`, {
          field,
          hint: 'the metadata (widths, head counts) and the tensors disagree',
        });
      }
    }
  });
}
