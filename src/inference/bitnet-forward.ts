import { BitNetError } from '../errors.js';
import { resolveKernels } from '../kernels/registry.js';
import type { GgmlHeadPath, Kernels } from '../kernels/types.js';
import { headDim, PROJECTIONS, type Projection } from '../models/bitnet/config.js';
import { NORM_FEEDS } from '../models/bitnet/spec.js';
import type { BitnetLmWeights } from '../models/bitnet/weights.js';
import { ropeAngles, ropeRow } from '../nn/rope.js';
import { quantizeActivations } from '../quant/activation.js';
import { hostGgmlAmx, hostGgmlIsa, siluf, type GgmlIsa } from '../kernels/ggml-float.js';
import { LowRankTerm } from './low-rank-term.js';
import { ggmlAttention, ggmlRopeRow } from './ggml-attention.js';
import { type Numerics, Projector } from './projector.js';
import { threadsFor } from '../settings.js';
import { floatToHalf, halfToFloat, roundToHalf } from '../util/half.js';

export type { Numerics } from './projector.js';

const f32 = Math.fround;

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

/** a + b elementwise in float32 (the residual adds). */
function added(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let j = 0; j < a.length; j++) out[j] = f32((a[j] as number) + (b[j] as number));
  return out;
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

  private attention(layer: number, q: Float32Array, pos: number, batched: boolean): Float32Array {
    const c = this.weights.config;
    if (this.numerics === 'llama.cpp') {
      const k = this.kCache[layer] as Float32Array;
      const v = this.vCache[layer] as Float32Array;
      return ggmlAttention(q, k, v, pos, c.numHeads, c.numKvHeads, headDim(c), batched ? 'tiny' : 'vec', this.ggmlIsa);
    }
    const out = new Float32Array(headDim(c) * c.numHeads);
    this.kernels.attention(q, this.kCache[layer] as Float32Array, this.vCache[layer] as Float32Array, pos, c.numHeads, c.numKvHeads, headDim(c), out);
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
    const rowsNormed = (m: Float32Array, gain: Float32Array | undefined): Float32Array => {
      if (gain === undefined) return m;
      const w = gain.length;
      const out = new Float32Array(m.length);
      for (let r = 0; r < m.length / w; r++) out.set(rmsNormRow(m.subarray(r * w, (r + 1) * w), gain, eps), r * w);
      return out;
    };
    const addBias = (m: Float32Array, bias: Float32Array | undefined): Float32Array =>
      bias === undefined ? m : m.map((v, j) => f32(v + (bias[j % bias.length] as number)));
    const round = this.numerics === 'llama.cpp' ? roundToHalf : (t: number) => t;
    const silu = this.numerics === 'llama.cpp' ? (g: number) => siluf(g, this.ggmlIsa) : (g: number) => f32(g / (1 + Math.exp(-g)));
    let x: Float32Array = new Float32Array(n * H);
    tokens.forEach((t, r) => this.embed(t, x.subarray(r * H, (r + 1) * H)));
    for (const [i, layer] of this.weights.layers.entries()) {
      const [q, k, v] = (yield { layer: i, projections: [...NORM_FEEDS.attnNorm], x: rowsNormed(x, layer.attnNorm), rows: n }).map((m, j) =>
        addBias(m, layer.bias?.[(['q', 'k', 'v'] as const)[j] as 'q' | 'k' | 'v']),
      ) as [Float32Array, Float32Array, Float32Array];
      const attn = new Float32Array(n * qDim);
      for (let r = 0; r < n; r++) {
        const pos = pos0 + r;
        // per-head q/k RMSNorm (Qwen3) before RoPE
        const qr = rowsNormed(q.subarray(r * qDim, (r + 1) * qDim), layer.qNorm);
        const kr = rowsNormed(k.subarray(r * kvDim, (r + 1) * kvDim), layer.kNorm);
        const vr = v.subarray(r * kvDim, (r + 1) * kvDim);
        const angles = ropeAngles(pos, 1, hd, c.ropeTheta, c.ropeFreqFactors);
        const rope = this.numerics === 'llama.cpp' ? ggmlRopeRow : ropeRow;
        rope(qr, c.numHeads, hd, angles);
        rope(kr, c.numKvHeads, hd, angles);
        if (this.numerics === 'llama.cpp' && this.weights.ggufArchitecture === 'llama') {
          // llama.cpp's llama architecture keeps each RoPE pair side by side: q·k sums in that order
          interleavePairs(qr, hd);
          interleavePairs(kr, hd);
        }
        for (let j = 0; j < kvDim; j++) {
          (this.kCache[i] as Float32Array)[pos * kvDim + j] = round(kr[j] as number);
          (this.vCache[i] as Float32Array)[pos * kvDim + j] = round(vr[j] as number);
        }
        attn.set(rowsNormed(this.attention(i, qr, pos, n > 1), layer.attnSubNorm), r * qDim);
      }
      const [o] = (yield { layer: i, projections: [...NORM_FEEDS.attnSubNorm], x: attn, rows: n }) as [Float32Array];
      const h = added(x, o);
      const [gate, up] = (yield { layer: i, projections: [...NORM_FEEDS.ffnNorm], x: rowsNormed(h, layer.ffnNorm), rows: n }) as [Float32Array, Float32Array];
      const relu2 = c.hiddenAct === 'relu2';
      const act = new Float32Array(gate.length);
      for (let j = 0; j < act.length; j++) {
        const g = gate[j] as number;
        act[j] = f32((relu2 ? f32(Math.max(g, 0) * Math.max(g, 0)) : silu(g)) * (up[j] as number));
      }
      const [down] = (yield { layer: i, projections: [...NORM_FEEDS.ffnSubNorm], x: rowsNormed(act, layer.ffnSubNorm), rows: n }) as [Float32Array];
      x = added(h, down);
    }
    this.length += n;
    return rmsNormRow(x.subarray((n - 1) * H, n * H), this.weights.outputNorm, eps);
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
      const q =
        this.numerics === 'bitnet' && projections.length > 1
          ? quantizeActivations(x, [rows, x.length / rows], { bits: 8, scope: 'token', eps: 1e-5 })
          : undefined;
      const outs = projections.map((p) => (q === undefined ? undefined : proj[p].applyQuantized(q, rows)) ?? proj[p].apply(x, rows));
      r = it.next(this.addLora(layer, projections, x, rows, outs));
    }
    return this.head(r.value);
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
