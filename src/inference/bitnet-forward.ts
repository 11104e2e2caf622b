import { BitNetError } from '../errors.js';
import { resolveKernels } from '../kernels/registry.js';
import type { GgmlHeadPath, Kernels } from '../kernels/types.js';
import { headDim, PROJECTIONS, type Projection } from '../models/bitnet/config.js';
import { NORM_FEEDS } from '../models/bitnet/spec.js';
import type { BitnetLmWeights } from '../models/bitnet/weights.js';
import { ropeAngles, ropeRowCosSin } from '../nn/rope.js';
import { quantizeRowsInto } from '../quant/activation.js';
import { hostGgmlAmx, hostGgmlIsa, siluf, type GgmlIsa } from '../kernels/ggml-float.js';
import { LowRankTerm } from './low-rank-term.js';
import { ggmlAttention, ggmlRopeRow } from './ggml-attention.js';
import { type Numerics, Projector } from './projector.js';
import { defaultThreads, threadsFor } from '../settings.js';
import { floatToHalf, halfToFloat, roundToHalf } from '../util/half.js';

export type { Numerics } from './projector.js';

const f32 = Math.fround;
/** BitLinear's activation quantization: int8 absmax per token, eps 1e-5 (as float32). */
const ACTIVATION_RANGE = { min: -128, max: 127, eps: f32(1e-5) };
/** Decode attention splits its heads over the native pool from this many query·key terms (a 2.4B layer at ~25 positions). */
const ATTENTION_THREADING = 1 << 16;
/** SiLU-GLU splits over the native pool from this many elements (a prompt's; one token's MLP is ~7,000). */
const SILU_THREADING = 1 << 15;

function roundHalfArray(a: Float32Array): Float32Array {
  return a.map(roundToHalf);
}

/** Projections of one layer that share an input, as BitnetRunner's steps ask for them. */
export interface ProjectionRequest {
  layer: number;
  projections: Projection[];
  /** [rows, in] */
  x: Float32Array;
  rows: number;
}

/** Where forwardAsync runs projections (the WGSL kernels: src/inference/gpu-projections.ts). */
export interface ProjectionDevice {
  project(layer: number, projections: readonly Projection[], x: Float32Array, rows: number): Promise<Float32Array[]>;
}

/** Each head's halves (i, i + headDim/2) to adjacent pairs (2i, 2i + 1), in place. */
function interleavePairs(x: Float32Array, hd: number): void {
  const half = hd / 2;
  for (let h = 0; h < x.length; h += hd) {
    const head = x.slice(h, h + hd);
    for (let i = 0; i < half; i++) {
      x[h + 2 * i] = head[i] as number;
      x[h + 2 * i + 1] = head[i + half] as number;
    }
  }
}

/** RMSNorm as ggml computes it: float squares summed in double, scale in float, then times the gain. */
export function rmsNormRow(x: Float32Array, gain: Float32Array, eps: number): Float32Array {
  let sum = 0;
  for (const v of x) sum += f32(v * v);
  const scale = f32(1 / f32(Math.sqrt(f32(f32(sum / x.length) + f32(eps)))));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32(f32((x[i] as number) * scale) * (gain[i] as number));
  return out;
}

/** rmsNormRow of x[offset, offset + gain.length) into out at outOffset (default: the same offset). */
function rmsNormInto(x: Float32Array, offset: number, gain: Float32Array, eps: number, out: Float32Array, outOffset = offset): void {
  const w = gain.length;
  let sum = 0;
  for (let i = 0; i < w; i++) {
    const v = x[offset + i] as number;
    sum += f32(v * v);
  }
  const scale = f32(1 / f32(Math.sqrt(f32(f32(sum / w) + f32(eps)))));
  for (let i = 0; i < w; i++) out[outOffset + i] = f32(f32((x[offset + i] as number) * scale) * (gain[i] as number));
}

/** Each gain-wide row of x normed, into a new array (per-head q/k norms). */
function rmsNormRows(x: Float32Array, gain: Float32Array, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / gain.length; r++) rmsNormInto(x, r * gain.length, gain, eps, out);
  return out;
}

/** a += b elementwise in float32 (the residual adds). */
function addInPlace(a: Float32Array, b: Float32Array): void {
  for (let j = 0; j < a.length; j++) a[j] = f32((a[j] as number) + (b[j] as number));
}

/** What one steps() call of `rows` tokens writes between projections, reused while the size stays. */
class StepBuffers {
  /** The residual stream [rows, hidden]. */
  readonly x: Float32Array;
  /** A norm's output, the input of the projections it feeds. */
  readonly normed: Float32Array;
  /** The attention output, sub-normed, [rows, heads * headDim]. */
  readonly attn: Float32Array;
  /** One row's attention output before its sub-norm. */
  readonly attnRow: Float32Array;
  /** SiLU-GLU (or relu²) of gate and up [rows, intermediate]. */
  readonly act: Float32Array;

  constructor(
    readonly rows: number,
    c: { hiddenSize: number; intermediateSize: number; numHeads: number } & Parameters<typeof headDim>[0],
  ) {
    const qDim = headDim(c) * c.numHeads;
    this.x = new Float32Array(rows * c.hiddenSize);
    this.normed = new Float32Array(rows * Math.max(c.hiddenSize, qDim, c.intermediateSize));
    this.attn = new Float32Array(rows * qDim);
    this.attnRow = new Float32Array(qDim);
    this.act = new Float32Array(rows * c.intermediateSize);
  }
}

/** The reference forward pass of a BitNet LM (llama.cpp `bitnet` architecture), one token at a time with a KV cache. */
export class BitnetRunner {
  private readonly proj: Record<Projection, Projector>[];
  /** Unmerged LoRA updates per layer (weights.layers[i].lora), added to the projections' outputs. */
  private readonly lora: Partial<Record<Projection, LowRankTerm>>[];
  private readonly kCache: Float32Array[];
  private readonly vCache: Float32Array[];
  /** The token embedding as halves (an F16 GGUF's, or llama.cpp numerics' rounding), else float32. */
  private readonly embeddingHalf: Uint16Array | undefined;
  private readonly headHalf: Uint16Array | undefined;
  /** The kernels of the projections, attention and F16 head (default: resolveKernels(), the `kernel` setting). */
  readonly kernels: Kernels;
  private readonly gpu: ProjectionDevice | undefined;
  /** llama.cpp numerics: the vector path llama.cpp takes on this CPU, and how it runs the F16 head. */
  private readonly ggmlIsa: GgmlIsa = hostGgmlIsa();
  private readonly ggmlHead: GgmlHeadPath;
  private length = 0;

  constructor(
    readonly weights: BitnetLmWeights,
    readonly numerics: Numerics = 'bitnet',
    /** llama.cpp numerics of a file written with `.scale` tensors (d = 1, exact f32 beta). */
    options: {
      scaleTensors?: boolean;
      /** The kernels to run on: resolveKernels('reference') runs every step in TypeScript. */
      kernels?: Kernels;
      /** Runs the projections of forwardAsync (BitNet numerics: the GPU gives the same numbers). */
      gpu?: ProjectionDevice;
    } = {},
  ) {
    this.gpu = options.gpu;
    // llama.cpp runs the F16 head on its AMX buffer's kernel where it can (float input), else
    // with the input rounded to half
    const amx = hostGgmlAmx() && weights.config.vocabSize % 32 === 0 && weights.config.hiddenSize % 16 === 0;
    this.ggmlHead = amx ? 'amx' : this.ggmlIsa;
    this.kernels = options.kernels ?? resolveKernels();
    const c = weights.config;
    const scaled = options.scaleTensors === true && numerics === 'llama.cpp';
    this.proj = weights.layers.map(
      (l) => Object.fromEntries(PROJECTIONS.map((p) => [p, new Projector(l.proj[p], numerics, scaled, this.kernels)])) as Record<Projection, Projector>,
    );
    this.lora = weights.layers.map((l) =>
      Object.fromEntries(Object.entries(l.lora ?? {}).map(([p, delta]) => [p, new LowRankTerm(delta, numerics, this.ggmlIsa)])),
    );
    const kvDim = headDim(c) * c.numKvHeads;
    this.kCache = weights.layers.map(() => new Float32Array(c.contextLength * kvDim));
    this.vCache = weights.layers.map(() => new Float32Array(c.contextLength * kvDim));
    // llama.cpp numerics round the embedding to half (once; a GGUF's F16 embedding already is).
    // F16 embeddings run the head on the F16 kernel.
    const rounded = numerics === 'llama.cpp' && weights.tokenEmbeddingHalf === undefined ? Uint16Array.from(weights.tokenEmbedding, floatToHalf) : undefined;
    this.embeddingHalf = weights.tokenEmbeddingHalf ?? rounded;
    // an untied head: llama.cpp runs it as F16 (how writeLlamaGguf stores it)
    this.headHalf =
      weights.output === undefined
        ? (weights.tokenEmbeddingHalf ?? rounded)
        : numerics === 'llama.cpp'
          ? Uint16Array.from(weights.output, floatToHalf)
          : undefined;
  }

  get position(): number {
    return this.length;
  }

  get contextLength(): number {
    return this.weights.config.contextLength;
  }

  reset(): void {
    this.length = 0;
  }

  private attention(layer: number, q: Float32Array, pos: number, batched: boolean, out: Float32Array): Float32Array {
    const c = this.weights.config;
    if (this.numerics === 'llama.cpp') {
      const k = this.kCache[layer] as Float32Array;
      const v = this.vCache[layer] as Float32Array;
      return ggmlAttention(q, k, v, pos, c.numHeads, c.numKvHeads, headDim(c), batched ? 'tiny' : 'vec', this.ggmlIsa);
    }
    const work = (pos + 1) * c.numHeads * headDim(c);
    this.kernels.attention(
      q,
      this.kCache[layer] as Float32Array,
      this.vCache[layer] as Float32Array,
      pos,
      c.numHeads,
      c.numKvHeads,
      headDim(c),
      out,
      work >= ATTENTION_THREADING ? defaultThreads() : 1,
    );
    return out;
  }

  /**
   * Tokens at the next positions through the decoder, as a generator: it yields each group of
   * projections that share an input (q/k/v, o, gate/up, down) for all the tokens at once and is
   * resumed with their outputs, so the same code runs them on the CPU kernels (forward, prefill)
   * or on the GPU (forwardAsync, prefillAsync). Returns the last token's normed hidden state.
   */
  private *steps(tokens: readonly number[]): Generator<ProjectionRequest, Float32Array, Float32Array[]> {
    const c = this.weights.config;
    const n = tokens.length;
    const pos0 = this.length;
    if (n === 0) throw new BitNetError('INVALID_ARGUMENT', 'no tokens to feed', { field: 'tokens' });
    if (pos0 + n > c.contextLength) {
      throw new BitNetError('INVALID_ARGUMENT', `the KV cache holds ${c.contextLength} positions; ${pos0} are used and ${n} more were fed`, {
        field: 'position',
        hint: 'reset() the runner, or let generate() shift the context',
      });
    }
    const H = c.hiddenSize;
    const hd = headDim(c);
    const qDim = hd * c.numHeads;
    const kvDim = hd * c.numKvHeads;
    const eps = c.rmsNormEps;
    const ggml = this.numerics === 'llama.cpp';
    const buffers = this.stepBuffers(n);
    /** Each row of m normed by gain into buffers.normed (m itself without a gain). */
    const rowsNormed = (m: Float32Array, gain: Float32Array | undefined): Float32Array => {
      if (gain === undefined) return m;
      const out = buffers.normed.subarray(0, m.length);
      for (let r = 0; r < m.length / gain.length; r++) rmsNormInto(m, r * gain.length, gain, eps, out);
      return out;
    };
    const addBias = (m: Float32Array, bias: Float32Array | undefined): Float32Array => {
      if (bias !== undefined) for (let j = 0; j < m.length; j++) m[j] = f32((m[j] as number) + (bias[j % bias.length] as number));
      return m;
    };
    const x = buffers.x;
    for (let r = 0; r < n; r++) this.embed(tokens[r] as number, x.subarray(r * H, (r + 1) * H));
    const rotations = Array.from({ length: n }, (_, r) => {
      const angles = ropeAngles(pos0 + r, 1, hd, c.ropeTheta, c.ropeFreqFactors);
      return { angles, cos: Float64Array.from(angles, Math.cos), sin: Float64Array.from(angles, Math.sin) };
    });
    for (const [i, layer] of this.weights.layers.entries()) {
      const kCache = this.kCache[i] as Float32Array;
      const vCache = this.vCache[i] as Float32Array;
      const [q, k, v] = (yield { layer: i, projections: [...NORM_FEEDS.attnNorm], x: rowsNormed(x, layer.attnNorm), rows: n }).map((m, j) =>
        addBias(m, layer.bias?.[(['q', 'k', 'v'] as const)[j] as 'q' | 'k' | 'v']),
      ) as [Float32Array, Float32Array, Float32Array];
      const attn = buffers.attn;
      for (let r = 0; r < n; r++) {
        const pos = pos0 + r;
        const rot = rotations[r] as (typeof rotations)[number];
        // per-head q/k RMSNorm (Qwen3) before RoPE
        const qr = layer.qNorm === undefined ? q.subarray(r * qDim, (r + 1) * qDim) : rmsNormRows(q.subarray(r * qDim, (r + 1) * qDim), layer.qNorm, eps);
        const kr = layer.kNorm === undefined ? k.subarray(r * kvDim, (r + 1) * kvDim) : rmsNormRows(k.subarray(r * kvDim, (r + 1) * kvDim), layer.kNorm, eps);
        const vr = v.subarray(r * kvDim, (r + 1) * kvDim);
        if (ggml) {
          ggmlRopeRow(qr, c.numHeads, hd, rot.angles);
          ggmlRopeRow(kr, c.numKvHeads, hd, rot.angles);
          if (this.weights.ggufArchitecture === 'llama') {
            // llama.cpp's llama architecture keeps each RoPE pair side by side: q·k sums in that order
            interleavePairs(qr, hd);
            interleavePairs(kr, hd);
          }
          for (let j = 0; j < kvDim; j++) {
            kCache[pos * kvDim + j] = roundToHalf(kr[j] as number);
            vCache[pos * kvDim + j] = roundToHalf(vr[j] as number);
          }
        } else {
          ropeRowCosSin(qr, c.numHeads, hd, rot.cos, rot.sin);
          ropeRowCosSin(kr, c.numKvHeads, hd, rot.cos, rot.sin);
          kCache.set(kr, pos * kvDim);
          vCache.set(vr, pos * kvDim);
        }
        const heads = this.attention(i, qr, pos, n > 1, buffers.attnRow);
        const subNorm = layer.attnSubNorm;
        if (subNorm === undefined) attn.set(heads, r * qDim);
        else for (let o = 0; o < qDim; o += subNorm.length) rmsNormInto(heads, o, subNorm, eps, attn, r * qDim + o);
      }
      const [o] = (yield { layer: i, projections: [...NORM_FEEDS.attnSubNorm], x: attn, rows: n }) as [Float32Array];
      addInPlace(x, o);
      const [gate, up] = (yield { layer: i, projections: [...NORM_FEEDS.ffnNorm], x: rowsNormed(x, layer.ffnNorm), rows: n }) as [Float32Array, Float32Array];
      const act = buffers.act;
      if (c.hiddenAct === 'relu2') {
        for (let j = 0; j < act.length; j++) {
          const g = Math.max(gate[j] as number, 0);
          act[j] = f32(f32(g * g) * (up[j] as number));
        }
      } else if (ggml) {
        for (let j = 0; j < act.length; j++) act[j] = f32(siluf(gate[j] as number, this.ggmlIsa) * (up[j] as number));
      } else {
        this.kernels.siluGlu(gate, up, act, act.length >= SILU_THREADING ? defaultThreads() : 1);
      }
      const [down] = (yield { layer: i, projections: [...NORM_FEEDS.ffnSubNorm], x: rowsNormed(act, layer.ffnSubNorm), rows: n }) as [Float32Array];
      addInPlace(x, down);
    }
    this.length += n;
    return rmsNormRow(x.subarray((n - 1) * H, n * H), this.weights.outputNorm, eps);
  }

  #buffers: StepBuffers[] = [];

  /** The buffers of a steps() call of n tokens: kept for the last two sizes (a prompt's, then 1 a token). */
  private stepBuffers(n: number): StepBuffers {
    let b = this.#buffers.find((s) => s.rows === n);
    if (b === undefined) {
      b = new StepBuffers(n, this.weights.config);
      this.#buffers = [b, ...this.#buffers.slice(0, 1)];
    }
    return b;
  }

  /** A token's embedding row into `out`. */
  private embed(token: number, out: Float32Array): void {
    const H = out.length;
    const half = this.embeddingHalf;
    if (half === undefined) out.set(this.weights.tokenEmbedding.subarray(token * H, (token + 1) * H));
    else for (let j = 0; j < H; j++) out[j] = halfToFloat(half[token * H + j] as number);
  }

  private runOnCpu(tokens: readonly number[]): Float32Array {
    const it = this.steps(tokens);
    let r = it.next();
    while (r.done !== true) {
      const { layer, projections, x, rows } = r.value;
      const proj = this.proj[layer] as Record<Projection, Projector>;
      // projections sharing an input share its per-token quantization (BitNet numerics)
      const q = this.numerics === 'bitnet' ? this.quantized(x, rows) : undefined;
      const outs = projections.map((p) => {
        const out = this.projectionOutput(p, rows * proj[p].weight.shape[0]);
        return (q === undefined ? undefined : proj[p].applyQuantized(q, rows, out)) ?? proj[p].apply(x, rows);
      });
      r = it.next(this.addLora(layer, projections, x, rows, outs));
    }
    return this.head(r.value);
  }

  #int8 = new Int8Array(0);
  #int8Scales = new Float32Array(0);
  #outputs = new Map<Projection, Float32Array>();

  /** x [rows, in] quantized per token as BitLinear does (int8 absmax, eps 1e-5), into buffers the next call reuses. */
  private quantized(x: Float32Array, rows: number): { values: Int8Array; scales: Float32Array } {
    if (this.#int8.length < x.length) this.#int8 = new Int8Array(x.length);
    if (this.#int8Scales.length < rows) this.#int8Scales = new Float32Array(rows);
    const values = this.#int8.subarray(0, x.length);
    const scales = this.#int8Scales.subarray(0, rows);
    quantizeRowsInto(x, x.length / rows, ACTIVATION_RANGE, values, scales);
    return { values, scales };
  }

  /** A projection's output buffer of `length` values, valid until that projection runs again. */
  private projectionOutput(p: Projection, length: number): Float32Array {
    let buffer = this.#outputs.get(p);
    if (buffer === undefined || buffer.length < length) {
      buffer = new Float32Array(length);
      this.#outputs.set(p, buffer);
    }
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }

  /** The projections' outputs with their layer's LoRA updates added (in place). */
  private addLora(layer: number, projections: readonly Projection[], x: Float32Array, rows: number, outs: Float32Array[]): Float32Array[] {
    const terms = this.lora[layer] as Partial<Record<Projection, LowRankTerm>>;
    projections.forEach((p, j) => terms[p]?.addTo(outs[j] as Float32Array, x, rows));
    return outs;
  }

  private async runOnGpu(tokens: readonly number[], gpu: ProjectionDevice): Promise<Float32Array> {
    const it = this.steps(tokens);
    let r = it.next();
    while (r.done !== true) {
      const { layer, projections, x, rows } = r.value;
      r = it.next(this.addLora(layer, projections, x, rows, await gpu.project(layer, projections, x, rows)));
    }
    return this.head(r.value);
  }

  /** Feeds one token at the next position; returns the logits over the vocabulary. */
  forward(token: number): Float32Array {
    return this.runOnCpu([token]);
  }

  /**
   * Feeds several tokens at once (a prompt): the projections run as one batched product per
   * layer and the head only for the last token, whose logits it returns; the same numbers as
   * forward() one token at a time.
   */
  prefill(tokens: readonly number[]): Float32Array {
    return this.runOnCpu(tokens);
  }

  /** forward() with the projections on the runner's GPU when it has one (`gpu` option); the same numbers. */
  async forwardAsync(token: number): Promise<Float32Array> {
    return this.prefillAsync([token]);
  }

  /** prefill() with the projections on the runner's GPU when it has one. */
  async prefillAsync(tokens: readonly number[]): Promise<Float32Array> {
    return this.gpu === undefined ? this.runOnCpu(tokens) : this.runOnGpu(tokens, this.gpu);
  }

  private head(out: Float32Array): Float32Array {
    const c = this.weights.config;
    if (this.numerics === 'llama.cpp' && this.headHalf !== undefined) {
      const logits = new Float32Array(c.vocabSize);
      const x = this.ggmlHead === 'amx' ? out : roundHalfArray(out);
      this.kernels.ggmlGemvHalf(this.headHalf, c.vocabSize, c.hiddenSize, x, logits, this.ggmlHead, threadsFor(c.vocabSize * c.hiddenSize));
      return logits;
    }
    if (this.headHalf !== undefined) {
      const logits = new Float32Array(c.vocabSize);
      this.kernels.gemvHalf(this.headHalf, c.vocabSize, c.hiddenSize, out, logits, threadsFor(c.vocabSize * c.hiddenSize));
      return logits;
    }
    const logits = new Float32Array(c.vocabSize);
    const headWeights = this.weights.output ?? this.weights.tokenEmbedding;
    for (let t = 0; t < c.vocabSize; t++) {
      let dot = 0;
      for (let j = 0; j < c.hiddenSize; j++) dot += (headWeights[t * c.hiddenSize + j] as number) * (out[j] as number);
      logits[t] = dot;
    }
    return logits;
  }

  /** Greedy continuation: feeds the prompt, then `count` argmax tokens. */
  greedy(prompt: readonly number[], count: number): number[] {
    let logits = this.prefill(prompt);
    const out: number[] = [];
    for (let n = 0; n < count; n++) {
      let best = 0;
      for (let t = 1; t < logits.length; t++) if ((logits[t] as number) > (logits[best] as number)) best = t;
      out.push(best);
      if (n < count - 1) logits = this.forward(best);
    }
    return out;
  }
}
